/**
 * Redis Cluster: every kind of Redis call the services make, run against a three-master cluster
 * with the deployment's key layout (packages/redis-keys). A script or MULTI whose keys are in
 * different slots fails there with CROSSSLOT; this counts such failures (0 expected) and shows
 * which node each queue landed on. It drives the real classes: the SMS dispatcher (fairness
 * counter, job add, settle), BullMQ workers on the sms and tokens queues, the location rate
 * limiter, the per-key API limit, OAuth states, and the refresh lock, on the connection the services
 * make (packages/queues' createRedis with REDIS_CLUSTER_NODES).
 */
import { Worker } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import { ApiKeyRateLimit, OAuthStates } from 'api'
import { createQueues, createRedis, SmsDispatcher } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { RedisLock } from '@ghl-connect/tokens'
import { LocationRateLimiter } from '@ghl-connect/rate-limits'
import { startRedisCluster } from '../harness/redis-cluster.ts'
import { waitFor } from '../harness/ports.ts'
import { say } from '../stats.ts'

export interface ClusterResult {
  cluster_crossslot_errors: number
  details: { masters: number, smsJobsDone: number, refreshJobsDone: number, calls: Record<string, 'ok' | string>, queueNodes: Record<string, string> }
}

export async function clusterScenario (opts: { messages: number }): Promise<ClusterResult> {
  const cluster = await startRedisCluster({ masters: 3 })
  // The services' own factory, as REDIS_CLUSTER_NODES makes it: a Cluster with their failover options.
  const redis = createRedis({ url: 'redis://unused', clusterNodes: cluster.nodes })
  const connection = redis as unknown as Cluster
  const keys = new RedisKeys('ghl')
  const calls: Record<string, string> = {}
  let crossSlot = 0
  const attempt = async (name: string, call: () => Promise<unknown>) => {
    try {
      await call()
      calls[name] ??= 'ok'
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err)
      if (/CROSSSLOT/.test(text)) crossSlot++
      calls[name] = text.slice(0, 120)
    }
  }
  const queues = createQueues(redis, keys)
  const workers: Worker[] = []
  try {
    const dispatcher = new SmsDispatcher(queues.sms, redis, keys)
    let smsDone = 0
    let refreshDone = 0
    workers.push(new Worker('sms', async (job) => {
      await dispatcher.settled(`client-${Number(job.data.messageId.slice(-1)) % 5}`)
      smsDone++
    }, { connection: connection as never, prefix: keys.bullPrefix('sms'), concurrency: 10 }))
    workers.push(new Worker('tokens', async () => { refreshDone++ }, { connection: connection as never, prefix: keys.bullPrefix('tokens') }))
    for (const w of workers) w.on('error', (err) => { if (/CROSSSLOT/.test(err.message)) crossSlot++ })

    for (let i = 0; i < opts.messages; i++) {
      await attempt('SmsDispatcher.enqueue (fairness counter + job add)', () => dispatcher.enqueue({ id: `00000000-0000-0000-0000-00000000000${i % 10}${i}`.slice(-36), clientId: `client-${i % 5}` }))
    }
    await attempt('tokens queue addBulk (refresh-batch jobs)', () => queues.tokens.addBulk([{ name: 'refresh-batch', data: { clientIds: ['a', 'b'] } }, { name: 'refresh-batch', data: { clientIds: ['c'] } }]))
    await attempt('SmsDispatcher.jobState / removeJob', async () => { await dispatcher.jobState('x'); await dispatcher.removeJob('x') })
    const limiter = new LocationRateLimiter(redis, keys, { max: 3, intervalMs: 10_000 })
    for (let i = 0; i < 6; i++) await attempt('LocationRateLimiter.reserve (log + reservation script)', () => limiter.reserve('sbxLocation000000001', `message-${i}`, 1))
    const apiLimit = new ApiKeyRateLimit(redis, keys, { max: 1000, windowMs: 60_000 })
    await attempt('ApiKeyRateLimit.spend (MULTI)', async () => { if (!await apiLimit.spend('crm')) throw new Error('no answer from Redis') })
    const states = new OAuthStates(redis, keys)
    for (let i = 0; i < 25; i++) await attempt('OAuthStates.begin (state, then the client\'s index)', () => states.begin({ clientId: 'client-1' }))
    await attempt('RedisLock acquire / release (script)', async () => {
      const lease = await new RedisLock(redis).tryAcquire(keys.refreshLock('client-1'), 5000)
      if (!lease || !await lease.release()) throw new Error('lock not taken and released')
    })
    await waitFor('the cluster workers to finish', async () => smsDone >= opts.messages && refreshDone >= 2, 60_000, 100)

    const queueNodes: Record<string, string> = {}
    for (const q of ['sms', 'tokens', 'outbox', 'crm-events']) {
      const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', `${keys.bullPrefix(q)}:${q}:wait`))
      const shard = (await redis.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>).find(([from, to]) => slot >= from && slot <= to)
      queueNodes[q] = `slot ${slot} on ${shard?.[2][0]}:${shard?.[2][1]}`
    }
    say(`cluster: ${smsDone} SMS jobs and ${refreshDone} refresh jobs done on 3 masters; ${crossSlot} CROSSSLOT errors; queues ${JSON.stringify(queueNodes)}`)
    return { cluster_crossslot_errors: crossSlot, details: { masters: 3, smsJobsDone: smsDone, refreshJobsDone: refreshDone, calls, queueNodes } }
  } finally {
    await Promise.all(workers.map((w) => w.close()))
    await queues.close()
    ;(connection as Cluster).disconnect()
    cluster.destroy()
  }
}
