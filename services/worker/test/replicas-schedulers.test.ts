/**
 * Many workers on one database and one Redis: the periodic jobs run once per period however many
 * workers run (each scheduled run is one BullMQ job, taken by one worker). The per-location
 * limit across workers: replicas-rate-limit.test.ts.
 */
import t from 'tap'
import { QueueEvents } from 'bullmq'
import { loadWorkerConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { QUEUES } from '@ghl-connect/queues'
import { startCrmReceiver } from '@ghl-connect/testing'
import { startWorker, type RunningWorker } from '../src/worker.ts'
import { createWorld, eventually } from './helper.ts'

/** Periods short enough for a test (the configuration's floors are for production: sweep 5 s, retention 60 s). */
const PERIOD_MS = { sweep: 1000, reconcile: 1000, 'reconcile-events': 1000, retention: 1500, 'gap-fill': 1000 } as const
type Periodic = keyof typeof PERIOD_MS

t.test('3 workers on one database and Redis: the sweep, both reconcilers, retention and gap filling each run once per period, not once per worker', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, { ...crm.env, OUTBOX_RECONCILE_EVERY_SECONDS: '1', GAP_FILL_EVERY_SECONDS: '1' })
  const config = loadWorkerConfig(world.env)
  config.tokens.sweepEveryMs = PERIOD_MS.sweep
  config.worker.retention.everyMs = PERIOD_MS.retention

  // Every job the queues start, by id: a scheduled run's id is `repeat:<scheduler>:<its time>`.
  const started = new Map<string, number>()
  // Connections of the test's own: BullMQ does not close a connection it was given.
  const connections = [QUEUES.tokens, QUEUES.outbox].map(() => world.redis.duplicate())
  const events = [QUEUES.tokens, QUEUES.outbox].map((queue, i) => new QueueEvents(queue, { connection: connections[i]!, prefix: world.keys.bullPrefix(queue) }))
  for (const e of events) e.on('active', ({ jobId }) => started.set(jobId, (started.get(jobId) ?? 0) + 1))
  t.teardown(async () => {
    await Promise.all(events.map((e) => e.close()))
    connections.forEach((c) => c.disconnect())
  })
  await Promise.all(events.map((e) => e.waitUntilReady()))

  const workers: RunningWorker[] = []
  t.teardown(() => Promise.all(workers.map((w) => w.stop())))
  const from = Date.now()
  for (let i = 0; i < 3; i++) workers.push(await startWorker(config, createLogger({ level: 'silent', name: `replica-${i}` })))
  const runsOf = (name: Periodic) => [...started].filter(([id]) => id.startsWith(`repeat:${name}:`))
  await eventually('each periodic job run at least 5 times', () => Object.keys(PERIOD_MS).every((name) => runsOf(name as Periodic).length >= 5), 90_000)
  const windowMs = Date.now() - from

  for (const name of Object.keys(PERIOD_MS) as Periodic[]) {
    const runs = runsOf(name)
    t.ok(runs.every(([, times]) => times === 1), `${name}: each scheduled run taken by one worker only`)
    const slots = runs.map(([id]) => Number(id.split(':').pop())).sort((a, b) => a - b)
    const gaps = slots.slice(1).map((s, i) => s - slots[i]!)
    t.ok(gaps.every((gap) => gap >= PERIOD_MS[name]), `${name}: one run per ${PERIOD_MS[name]} ms period (gaps ${gaps.join(', ')} ms)`)
    // 3 workers each running it would be 3 runs a period; once per period (the first run at once) is at most this
    t.ok(runs.length <= Math.floor(windowMs / PERIOD_MS[name]) + 2, `${name}: ${runs.length} runs in ${windowMs} ms`)
  }
  // who ran them: the work is shared, not one worker's alone (a figure, not asserted: BullMQ picks)
  const byWorker = await Promise.all(workers.map(async (w) => {
    const counts = (await w.runtime.metrics.jobs.get()).values
    return counts.filter((v) => v.labels.queue !== QUEUES.sms && v.labels.queue !== QUEUES.crmEvents).reduce((n, v) => n + v.value, 0)
  }))
  t.comment(`periodic runs in ${windowMs} ms by worker: ${byWorker.join(', ')} (${[...started].length} in all)`)
})
