/**
 * The repeatable jobs: the token sweep, the outbox reconciler (and the events reconciler when
 * CRM events are on), retention and gap filling, as BullMQ job schedulers (one
 * per deployment however many workers upsert them). Each worker checks now and then that they
 * still exist, so a Redis that lost its keys gets them back without a restart.
 */
import type { Logger } from '@ghl-connect/logging'
import type { WorkerRuntime } from './runtime.ts'

const CHECK_EVERY_MS = 30_000

export function ensureSchedulers (runtime: WorkerRuntime, logger: Logger) {
  const { queues, config } = runtime
  // Upserting an unchanged scheduler would push its next run back: only create or change it.
  const unchanged = (existing: { every?: number | string | null } | undefined, every: number) => existing !== undefined && Number(existing.every) === every
  const ensure = async () => {
    const sweepEvery = config.tokens.sweepEveryMs
    if (!unchanged(await queues.tokens.getJobScheduler('sweep'), sweepEvery)) {
      await queues.tokens.upsertJobScheduler('sweep', { every: sweepEvery }, { name: 'sweep', data: {} })
      logger.info({ scheduler: 'sweep', everyMs: sweepEvery }, 'job scheduler set')
    }
    const outboxJobs = [
      { name: 'reconcile', every: config.worker.reconcileEveryMs },
      ...(runtime.crmEventReconciler ? [{ name: 'reconcile-events', every: config.worker.reconcileEveryMs }] as const : []),
      { name: 'retention', every: config.worker.retention.everyMs },
      { name: 'gap-fill', every: config.worker.gapFill.everyMs },
    ] as const
    for (const { name, every } of outboxJobs) {
      if (unchanged(await queues.outbox.getJobScheduler(name), every)) continue
      await queues.outbox.upsertJobScheduler(name, { every }, { name, data: {} })
      logger.info({ scheduler: name, everyMs: every }, 'job scheduler set')
    }
  }
  const timer = setInterval(() => { ensure().catch((err) => logger.warn({ err }, 'could not check the job schedulers')) }, CHECK_EVERY_MS)
  timer.unref()
  return { ensure, stop: () => clearInterval(timer) }
}
