/**
 * Run by redis-cluster-close.test.ts: a Cluster connection and a duplicate of it (as a subscriber
 * or BullMQ's blocking connection is), each closed while a slot-map re-read is in flight, then
 * nothing more: the process must end by itself.
 */
import type { Cluster } from 'ioredis'
import { createRedis } from '@ghl-connect/queues'

const clusterNodes = JSON.parse(process.env.CLUSTER_NODES!) as Array<{ host: string, port: number }>
const main = createRedis({ url: '', clusterNodes }) as unknown as Cluster
await new Promise((resolve) => main.once('ready', resolve))
const copy = main.duplicate()
await new Promise((resolve) => copy.once('ready', resolve))

/** Until a re-read of the slot map is in flight (ioredis's own flag: no public way to see it). */
const midRefresh = (c: Cluster) => new Promise<void>((resolve) => {
  const poll = () => (c as unknown as { isRefreshing: boolean }).isRefreshing ? resolve() : setTimeout(poll, 1)
  poll()
})
await midRefresh(main)
await main.quit()
await midRefresh(copy)
copy.disconnect()
process.stdout.write('closed\n')
