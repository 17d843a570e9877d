import type { JobOf } from '@ghl-connect/queues'
import type { CrmEventReconciler } from '../crm-events/crm-event-reconciler.ts'
import type { GapFillJob } from '../gap-fill/gap-fill-job.ts'
import type { OutboxReconciler } from '../outbox/outbox-reconciler.ts'
import type { Retention } from '../retention/retention.ts'
import { unknownJob } from '../worker-manager.ts'

/**
 * The `outbox` queue's job schedulers: `reconcile` re-queues SMS whose job Redis lost,
 * `reconcile-events` the same for CRM events, `retention` deletes old history, `gap-fill` reads
 * HighLevel's message export for replies and delivery statuses no webhook brought.
 */
export function outboxProcessor (reconciler: OutboxReconciler, events: CrmEventReconciler | null, retention: Retention, gapFill: GapFillJob) {
  return async (job: JobOf<'outbox'>) => {
    if (job.name === 'reconcile') return reconciler.run()
    if (job.name === 'reconcile-events') return events?.run() ?? null
    if (job.name === 'retention') return retention.run()
    if (job.name === 'gap-fill') return gapFill.run()
    throw unknownJob('outbox', job)
  }
}
