/**
 * Group commit for the intake's single requests (`GroupCommit` in packages/db, shared with the
 * worker's `sent` writes): requests that arrive while a write is on its way share the next one.
 * Their rows go in one INSERT (one transaction, one commit: one disk flush instead of one per
 * request) and their jobs in one `addBulk` with the fairness counters of every client in one
 * MULTI, so N concurrent requests cost two PostgreSQL/Redis round trips instead of 2N and N.
 *
 * No request waits for a timer: a lone request is written at once (its group is itself); only
 * requests arriving while `maxInFlight` writes are running wait, at most one write's time, and
 * then go together (up to `maxGroup`). Each caller is answered only after the INSERT holding its
 * row committed (the 202-only-when-durable rule), and its job was queued or Redis refused it (the
 * row stands, the outbox reconciler queues it: as for a single request).
 *
 * A message the INSERT did not write (client not connected by OAuth, a key already stored or
 * repeated within the group) is answered `null`: the intake's slow path settles it alone, as before.
 */
import { randomUUID } from 'node:crypto'
import { GroupCommit, type GroupCommitOptions, type NewOutboxMessage, type SmsMessagesRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { SmsDispatcher } from '@ghl-connect/queues'

export type GroupedMessage = Omit<NewOutboxMessage, 'integrationId'> & {
  /** Whether its send job is queued now (false: scheduled further ahead, left to the reconciler). */
  queueNow: boolean
  requestId?: string
}

type Identified = GroupedMessage & { id: string }

export class SmsGroupCommit {
  private readonly group: GroupCommit<Identified, { id: string } | null>

  constructor (
    private readonly messages: Pick<SmsMessagesRepository, 'insertManyForConnectedClients'>,
    private readonly dispatcher: Pick<SmsDispatcher, 'enqueueBulk'>,
    private readonly logger: Logger,
    opts: GroupCommitOptions = { maxGroup: 100, maxInFlight: 2 },
  ) {
    this.group = new GroupCommit((group) => this.writeGroup(group), opts)
  }

  /** Written and queued with whatever arrives beside it; `{ id }` once durable, null when the slow path must look. */
  write (message: GroupedMessage): Promise<{ id: string } | null> {
    return this.group.write({ ...message, id: randomUUID() })
  }

  /** One INSERT, then one `addBulk` of the rows written; a failed INSERT fails every request of the group. */
  private async writeGroup (group: Identified[]): Promise<Array<{ id: string } | null>> {
    const written = await this.messages.insertManyForConnectedClients(group)
    const queued = group.filter((m) => m.queueNow && written.has(m.id))
    if (queued.length > 0) {
      await this.dispatcher.enqueueBulk(queued.map((m) => ({ id: m.id, clientId: m.clientId, sendAt: m.sendAt ?? null, requestId: m.requestId })))
        .catch((err: unknown) => {
          this.logger.warn({ err, messages: queued.length, requestIds: queued.map((m) => m.requestId) }, 'sms stored but not queued (Redis); the outbox reconciler will queue them')
        })
    }
    return group.map((m) => written.has(m.id) ? { id: m.id } : null)
  }
}
