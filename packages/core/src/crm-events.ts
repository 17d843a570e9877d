/**
 * Events for the CRM, durable: each is recorded in the events outbox (PostgreSQL) under an id
 * that names what it reports, then its delivery is queued (Redis carries only the id). A change
 * with a transaction records its event inside it and queues the delivery after the commit; if
 * queuing fails (Redis down, flushed, the process killed just then), the worker's events
 * reconciler queues it later. So every recorded event is delivered at least once, and a repeat
 * has the same id. Without CRM_WEBHOOK_URL nothing is recorded or queued.
 */
import type { CrmEventsRepository, NewCrmEvent, Transaction } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEventDispatcher } from '@ghl-connect/queues'

export class CrmEvents {
  constructor (
    private readonly outbox: CrmEventsRepository | null,
    private readonly dispatcher: CrmEventDispatcher,
    private readonly logger: Logger,
  ) {}

  /** Records the event (once per id), inside `tx` when given; queue its delivery with `dispatch` after the commit. True when this call wrote it. */
  async record (event: NewCrmEvent, tx?: Transaction): Promise<boolean> {
    return await this.outbox?.record(event, tx) ?? false
  }

  /** Queues the delivery of recorded events. Never throws: what cannot be queued now, the reconciler queues later. */
  async dispatch (...eventIds: string[]): Promise<void> {
    if (!this.outbox) return
    for (const eventId of eventIds) {
      await this.dispatcher.enqueue(eventId)
        .catch((err) => this.logger.warn({ err, eventId }, 'could not queue a CRM event; the events reconciler will'))
    }
  }

  /** Records and queues an event for a change that has no transaction of its own to join. True when this call recorded it. */
  async publish (event: NewCrmEvent): Promise<boolean> {
    const recorded = await this.record(event)
    await this.dispatch(event.id)
    return recorded
  }
}
