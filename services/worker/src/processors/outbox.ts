import type { JobOf } from '@ghl-connect/queues'
import type { OutboxReconciler } from '../outbox/outbox-reconciler.ts'
import { unknownJob } from '../worker-manager.ts'

/** `outbox` / `reconcile` (job scheduler): re-queue SMS whose job Redis lost. */
export function outboxProcessor (reconciler: OutboxReconciler) {
  return async (job: JobOf<'outbox'>) => {
    if (job.name === 'reconcile') return reconciler.run()
    throw unknownJob('outbox', job)
  }
}
