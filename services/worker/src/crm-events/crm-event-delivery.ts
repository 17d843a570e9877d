/**
 * Delivers one event of the events outbox to the CRM's webhook: the stored event's JSON body,
 * signed as Standard Webhooks say (@ghl-connect/crm-events: the signature covers the event id, the
 * time of this attempt and the body), so the CRM can check it came from us, was not altered and
 * is not a replay. Each attempt is signed at its own send time. The event id is stable (it names
 * what the event reports) and is the webhook-id, so the CRM drops a repeat it already processed:
 * delivery is at least once.
 *
 * The job carries only the event id. An id that names no recorded event (a job added through
 * Bull Board, or straight in Redis) fails for good, unsent, and the log says so without its
 * content; an event already delivered is not sent again. Anything but a 2xx is counted on the
 * row and thrown, so BullMQ retries with backoff (crm-events queue options); once BullMQ gives
 * up, the events reconciler queues the event again when it is due.
 */
import { UnrecoverableError } from 'bullmq'
import { request } from 'undici'
import { signEvent } from '@ghl-connect/crm-events'
import { crmEventBody, type CrmEventsRepository } from '@ghl-connect/db'

/** After this long of failed deliveries an event is given up (`failed`): the CRM has been unreachable for days. */
export const GIVE_UP_AFTER_MS = 3 * 86_400_000
const RETRY_BASE_MS = 2000
const RETRY_MAX_MS = 3_600_000

export type DeliveryResult = { status: number } | { skipped: 'delivered' | 'failed' }

export class CrmEventDelivery {
  constructor (
    private readonly outbox: CrmEventsRepository,
    private readonly target: { url: string, secret: string },
    private readonly timeoutMs: number,
  ) {}

  async deliver (job: unknown, now = Date.now()): Promise<DeliveryResult> {
    const eventId = (job as { eventId?: unknown } | null)?.eventId
    const stored = typeof eventId === 'string' ? await this.outbox.findById(eventId) : null
    if (!stored) {
      throw new UnrecoverableError('refused: this crm-events job names no event ghl-connect recorded, so nothing is delivered')
    }
    if (stored.status !== 'pending') return { skipped: stored.status }
    const event = crmEventBody(stored)
    const body = JSON.stringify(event)
    let failure: string
    // Cleared once answered: AbortSignal.timeout kept a timer alive per delivery for the whole timeout.
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs)
    try {
      const response = await request(this.target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'ghl-connect',
          ...signEvent(this.target.secret, { id: event.id, type: event.type, body }),
        },
        body,
        signal: deadline.signal,
      })
      await response.body.dump()
      if (response.statusCode >= 200 && response.statusCode < 300) {
        await this.outbox.markDelivered(event.id)
        return { status: response.statusCode }
      }
      failure = `the CRM answered ${response.statusCode}`
    } catch (err) {
      failure = `the CRM could not be reached: ${(err as Error).message}`
    } finally {
      clearTimeout(timer)
    }
    const giveUp = now - stored.createdAt.getTime() > GIVE_UP_AFTER_MS
    const retryInMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(stored.attempts, 20))
    await this.outbox.recordFailedAttempt(event.id, failure, giveUp ? { giveUp } : { nextAt: new Date(now + retryInMs) })
    if (giveUp) throw new UnrecoverableError(`${failure} to event ${event.type} ${event.id}; given up after ${stored.attempts + 1} attempts`)
    throw new Error(`${failure} to event ${event.type} ${event.id}; retrying`)
  }
}
