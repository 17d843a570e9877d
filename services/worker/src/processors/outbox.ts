import type { Job } from 'bullmq'
import type { OutboxReconciler } from '../outbox/outbox-reconciler.ts'

/** `outbox` / `reconcile` (job scheduler): re-queue SMS whose job Redis lost. */
export function outboxProcessor (reconciler: OutboxReconciler) {
  return async (job: Job) => {
    if (job.name === 'reconcile') return reconciler.run()
    throw new Error(`unknown job ${job.name} on the outbox queue`)
  }
}
