/**
 * The events reconciler: the events outbox (PostgreSQL) is the record of what the CRM must hear,
 * Redis only the to-do list. It pages through pending events whose delivery is overdue and
 * queues again those whose job is gone (Redis lost or flushed, the process killed between the
 * commit and queuing) or finished (BullMQ gave up retrying). So no recorded event is lost with
 * Redis. Queuing is idempotent (the job id is the event id) and the delivery skips an event
 * already delivered.
 */
import type { CrmEventsRepository, DueCrmEvent } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEventDispatcher } from '@ghl-connect/queues'
import { requeueLost, type ReconcileResult } from '../outbox/requeue-lost.ts'

const PAGE = 500

export class CrmEventReconciler {
  constructor (
    private readonly outbox: CrmEventsRepository,
    private readonly dispatcher: CrmEventDispatcher,
    private readonly logger: Logger,
    private readonly opts: { overdueForMs: number },
  ) {}

  async run (now = Date.now()): Promise<ReconcileResult> {
    const before = new Date(now - this.opts.overdueForMs)
    const result = await requeueLost<DueCrmEvent>({
      page: (after) => this.outbox.listDue({ before, limit: PAGE, after }),
      pageSize: PAGE,
      jobState: (event) => this.dispatcher.jobState(event.id),
      removeJob: (event) => this.dispatcher.removeJob(event.id),
      enqueue: (event) => this.dispatcher.enqueue(event.id),
    })
    if (result.requeued > 0) this.logger.warn(result, 'events reconciler re-queued CRM events whose job was missing')
    return result
  }
}
