/**
 * The repeatable jobs: the token sweep and the outbox reconciler, as BullMQ job schedulers (one
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
    const reconcileEvery = config.worker.reconcileEveryMs
    if (!unchanged(await queues.outbox.getJobScheduler('reconcile'), reconcileEvery)) {
      await queues.outbox.upsertJobScheduler('reconcile', { every: reconcileEvery }, { name: 'reconcile', data: {} })
      logger.info({ scheduler: 'reconcile', everyMs: reconcileEvery }, 'job scheduler set')
    }
  }
  const timer = setInterval(() => { ensure().catch((err) => logger.warn({ err }, 'could not check the job schedulers')) }, CHECK_EVERY_MS)
  timer.unref()
  return { ensure, stop: () => clearInterval(timer) }
}
