/**
 * A queue's worker whose fetch loop has stopped is replaced (WorkerManager.watch). The stop is
 * made here by pausing the worker locally, which parks its loop the way the failed reset of its
 * blocking connection did after a Redis Cluster failover (the redis_failover drill of session 14:
 * all three workers left the outbox reconciler's due job where it was, and 21 SMS stayed queued).
 * A worker busy with a job is left alone, however overdue the queue's delayed jobs are.
 */
import t, { type Test } from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createLogger } from '@ghl-connect/logging'
import { createMetrics } from '@ghl-connect/metrics'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { eventually, logCapture, TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { WorkerManager } from '../src/worker-manager.ts'

async function setup (t: Test) {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const keys = new RedisKeys(uniqueRedisPrefix('watch'))
  const log = logCapture()
  const metrics = createMetrics('worker', { processMetrics: false })
  const manager = new WorkerManager(redis, keys, createLogger({ level: 'info', destination: log.stream }), metrics)
  const queue = new Queue('outbox', { connection: redis, prefix: keys.bullPrefix('outbox') })
  t.teardown(async () => {
    await manager.close(1000)
    await queue.close()
    const stale = await redis.keys(`${keys.prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    redis.disconnect()
  })
  const restarts = async () => (await metrics.registry.getSingleMetricAsString('ghl_connect_worker_restarts_total')).match(/queue="outbox"[^}]*\} (\d+)/)?.[1] ?? '0'
  return { manager, queue, log, restarts }
}

t.test('a worker that stopped fetching, its queue holding an overdue job: replaced, and the job runs', async (t) => {
  const { manager, queue, log, restarts } = await setup(t)
  const ran: string[] = []
  const worker = manager.register({ queue: 'outbox', concurrency: 1, processor: async (job) => { ran.push(job.name) } })
  await worker.waitUntilReady()
  await worker.pause(true)
  await queue.add('reconcile', {}, { delay: 100 })
  manager.watch({ stuckAfterMs: 500, checkEveryMs: 100 })
  await eventually('the overdue job to run on the replacement', () => ran.includes('reconcile'), 30_000)
  t.equal(await restarts(), '1', 'one replacement, counted')
  t.match(log.text(), /stopped fetching jobs/, 'and said at error level')
  t.notOk(log.text().includes('"queue":"sms"'), 'no other queue touched')
})

t.test('a worker busy with a job is not replaced, however overdue the queue\'s delayed job', async (t) => {
  const { manager, queue, restarts } = await setup(t)
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const ran: string[] = []
  manager.register({ queue: 'outbox', concurrency: 1, processor: async (job) => { ran.push(job.name); if (job.name === 'retention') await held } })
  await queue.add('retention', {})
  await eventually('the retention job to start', () => ran.includes('retention'))
  await queue.add('reconcile', {}, { delay: 100 })
  manager.watch({ stuckAfterMs: 300, checkEveryMs: 100 })
  // An absence: given fifteen checks' time (a replacement would come at the fourth).
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(await restarts(), '0', 'still the same worker after five times the bound')
  release()
  await eventually('the delayed job, run by the same worker once free', () => ran.includes('reconcile'), 30_000)
  t.equal(await restarts(), '0')
})
