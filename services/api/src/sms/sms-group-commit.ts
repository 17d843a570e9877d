/**
 * Group commit for the intake's single requests: requests that arrive while a write is on its way
 * share the next one. Their rows go in one INSERT (one transaction, one commit: one disk flush
 * instead of one per request) and their jobs in one `addBulk` with the fairness counters of every
 * client in one MULTI, so N concurrent requests cost two PostgreSQL/Redis round trips instead of
 * 2N and N.
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
import type { NewOutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { SmsDispatcher } from '@ghl-connect/queues'

export type GroupedMessage = Omit<NewOutboxMessage, 'integrationId'> & {
  /** Whether its send job is queued now (false: scheduled further ahead, left to the reconciler). */
  queueNow: boolean
  requestId?: string
}

interface Waiting { message: GroupedMessage & { id: string }, resolve: (written: { id: string } | null) => void, reject: (err: unknown) => void }

export interface SmsGroupCommitOptions {
  /** The most rows one INSERT takes. */
  maxGroup: number
  /** Writes running at once (each on its own pool connection); more requests wait to share the next. */
  maxInFlight: number
}

export class SmsGroupCommit {
  private waiting: Waiting[] = []
  private inFlight = 0
  private scheduled = false

  constructor (
    private readonly messages: Pick<SmsMessagesRepository, 'insertManyForConnectedClients'>,
    private readonly dispatcher: Pick<SmsDispatcher, 'enqueueBulk'>,
    private readonly logger: Logger,
    private readonly opts: SmsGroupCommitOptions = { maxGroup: 100, maxInFlight: 2 },
  ) {}

  /** Written and queued with whatever arrives beside it; `{ id }` once durable, null when the slow path must look. */
  write (message: GroupedMessage): Promise<{ id: string } | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ message: { ...message, id: randomUUID() }, resolve, reject })
      this.schedule()
    })
  }

  /** After this turn of the event loop, so requests parsed in the same turn go together. */
  private schedule (): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.waiting.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      while (this.inFlight < this.opts.maxInFlight && this.waiting.length > 0) {
        void this.flush(this.waiting.splice(0, this.opts.maxGroup))
      }
    })
  }

  private async flush (group: Waiting[]): Promise<void> {
    this.inFlight++
    try {
      let written: Set<string>
      try {
        written = await this.messages.insertManyForConnectedClients(group.map((w) => w.message))
      } catch (err) {
        for (const w of group) w.reject(err)
        return
      }
      const queued = group.filter((w) => w.message.queueNow && written.has(w.message.id)).map((w) => w.message)
      if (queued.length > 0) {
        await this.dispatcher.enqueueBulk(queued.map((m) => ({ id: m.id, clientId: m.clientId, sendAt: m.sendAt ?? null, requestId: m.requestId })))
          .catch((err: unknown) => {
            this.logger.warn({ err, messages: queued.length, requestIds: queued.map((m) => m.requestId) }, 'sms stored but not queued (Redis); the outbox reconciler will queue them')
          })
      }
      for (const w of group) w.resolve(written.has(w.message.id) ? { id: w.message.id } : null)
    } finally {
      this.inFlight--
      this.schedule()
    }
  }
}
