/**
 * A process whose Redis Cluster connections are closed ends by itself, even when they were
 * closed in the middle of a slot-map re-read (ioredis then re-armed its re-read timer for good,
 * and an api test on the cluster hung until its timeout).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startRedisCluster } from '@ghl-connect/testing'

const CHILD = fileURLToPath(new URL('./cluster-close-child.ts', import.meta.url))

t.test('Cluster connections closed mid re-read of the slot map let their process end', async (t) => {
  const cluster = await startRedisCluster({ masters: 3 })
  t.teardown(() => cluster.destroy())
  const nodes = (await cluster.masters()).map((m) => ({ host: '127.0.0.1', port: m.port }))
  const child = spawn(process.execPath, ['--import=tsx', CHILD], { env: { ...process.env, CLUSTER_NODES: JSON.stringify(nodes) }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(() => { child.kill('SIGKILL') })

  const closed = new Promise<void>((resolve) => child.stdout.on('data', () => { if (output.includes('closed')) resolve() }))
  t.equal(await Promise.race([closed.then(() => 'closed'), exited.then(() => 'exited first')]), 'closed', `both connections closed mid re-read (${output.trim()})`)
  // The re-read timer is 2 s: one more may run out after the close. Far past that, the process is held open.
  let timer: NodeJS.Timeout | undefined
  const heldOpen = new Promise<'held open'>((resolve) => { timer = setTimeout(() => resolve('held open'), 20_000) })
  t.equal(await Promise.race([exited, heldOpen]), 0, 'the process ended by itself after the close')
  clearTimeout(timer)
})
