/**
 * The outbox reconciler: PostgreSQL is the record of what was asked, Redis only the to-do list.
 * Every minute it pages through messages still `queued` after a minute (and `sending` ones
 * nobody touched for longer than an attempt can take) and re-queues those whose job is gone or
 * finished, so losing or flushing Redis loses no SMS. Queuing is idempotent (the job id is the
 * message id) and the sender checks the row's status, so a message is never sent twice by this.
 */
import type { SmsMessagesRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { SmsDispatcher } from '@ghl-connect/queues'

export interface ReconcileResult { checked: number, requeued: number }

const PAGE = 500

export class OutboxReconciler {
  constructor (
    private readonly messages: SmsMessagesRepository,
    private readonly dispatcher: SmsDispatcher,
    private readonly logger: Logger,
    private readonly opts: { queuedForMs: number, sendingForMs: number },
  ) {}

  async run (now = Date.now()): Promise<ReconcileResult> {
    const result: ReconcileResult = { checked: 0, requeued: 0 }
    const queuedBefore = new Date(now - this.opts.queuedForMs)
    const sendingBefore = new Date(now - this.opts.sendingForMs)
    let after: { createdAt: Date, id: string } | undefined
    for (;;) {
      const page = await this.messages.listStale({ queuedBefore, sendingBefore, limit: PAGE, after })
      if (page.length === 0) break
      const states = await Promise.all(page.map((m) => this.dispatcher.jobState(m.id)))
      for (const [i, message] of page.entries()) {
        const state = states[i]
        if (state === 'pending') continue
        // A finished job with an unfinished row: its last run ended in an error (PostgreSQL down, a bug).
        if (state === 'failed' || state === 'completed') await this.dispatcher.removeJob(message.id)
        await this.dispatcher.enqueue(message)
        result.requeued++
      }
      result.checked += page.length
      after = page[page.length - 1]
      if (page.length < PAGE) break
    }
    if (result.requeued > 0) this.logger.warn(result, 'outbox reconciler re-queued SMS whose job was missing')
    return result
  }
}
