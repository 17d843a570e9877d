/**
 * The outbox reconciler: PostgreSQL is the record of what was asked, Redis only the to-do list.
 * Every minute it pages through messages still `queued` after a minute (and `sending` ones
 * nobody touched for longer than an attempt can take) and re-queues those whose job is gone or
 * finished, so losing or flushing Redis loses no SMS. Queuing is idempotent (the job id is the
 * message id) and the sender checks the row's status, so a message is never sent twice by this.
 *
 * Scheduled messages are its release path: one due within `scheduleAheadMs` (and not yet held by a
 * job) gets its send job, delayed to its send_at, so after a Redis loss it still goes at its time;
 * the sender holds back anything whose time has not come, so queuing one early sends nothing early.
 */
import type { SmsMessagesRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { SmsDispatcher } from '@ghl-connect/queues'
import { requeueLost, type ReconcileResult } from './requeue-lost.ts'

export type { ReconcileResult }

const PAGE = 500
type StaleMessage = Awaited<ReturnType<SmsMessagesRepository['listStale']>>[number]
type ScheduledMessage = Awaited<ReturnType<SmsMessagesRepository['listScheduledDue']>>[number]

export class OutboxReconciler {
  constructor (
    private readonly messages: SmsMessagesRepository,
    private readonly dispatcher: SmsDispatcher,
    private readonly logger: Logger,
    private readonly opts: { queuedForMs: number, sendingForMs: number, scheduleAheadMs: number },
  ) {}

  async run (now = Date.now()): Promise<ReconcileResult> {
    const queuedBefore = new Date(now - this.opts.queuedForMs)
    const sendingBefore = new Date(now - this.opts.sendingForMs)
    const result = await requeueLost<StaleMessage>({
      page: (after) => this.messages.listStale({ queuedBefore, sendingBefore, limit: PAGE, after }),
      pageSize: PAGE,
      jobState: (message) => this.dispatcher.jobState(message.id),
      removeJob: (message) => this.dispatcher.removeJob(message.id),
      enqueue: (message) => this.dispatcher.enqueue(message),
    })
    if (result.requeued > 0) this.logger.warn(result, 'outbox reconciler re-queued SMS whose job was missing')
    const scheduled = await requeueLost<ScheduledMessage>({
      page: (after) => this.messages.listScheduledDue({ dueBefore: new Date(now + this.opts.scheduleAheadMs), createdBefore: queuedBefore, limit: PAGE, after }),
      pageSize: PAGE,
      jobState: (message) => this.dispatcher.jobState(message.id),
      removeJob: (message) => this.dispatcher.removeJob(message.id),
      enqueue: (message) => this.dispatcher.enqueue(message),
    })
    if (scheduled.requeued > 0) this.logger.info(scheduled, 'outbox reconciler queued scheduled SMS coming due')
    return { checked: result.checked + scheduled.checked, requeued: result.requeued + scheduled.requeued }
  }
}
