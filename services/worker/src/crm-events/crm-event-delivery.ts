/**
 * Delivers an event to the CRM's webhook: the JSON body is signed with HMAC-SHA256 under
 * CRM_WEBHOOK_SECRET, so the CRM can check it came from us and was not altered. Anything but a
 * 2xx throws, and BullMQ retries with backoff (crm-events queue options). The event id goes in a
 * header too, so the CRM can drop a retry it already processed.
 *
 * Only a job our code queued is delivered: one whose MAC does not hold (added or edited through
 * Bull Board, or straight in Redis) fails for good, unsigned and unsent, and the log says so
 * without its content.
 */
import { createHmac } from 'node:crypto'
import { UnrecoverableError } from 'bullmq'
import { request } from 'undici'
import { openCrmEvent } from '@ghl-connect/queues'

export const SIGNATURE_HEADER = 'x-ghl-connect-signature'
export const EVENT_ID_HEADER = 'x-ghl-connect-event-id'
export const EVENT_TYPE_HEADER = 'x-ghl-connect-event-type'

export const signBody = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

export class CrmEventDelivery {
  constructor (private readonly target: { url: string, secret: string }, private readonly timeoutMs: number) {}

  async deliver (job: unknown): Promise<{ status: number }> {
    const event = openCrmEvent(this.target.secret, job)
    if (!event) {
      throw new UnrecoverableError('refused: this crm-events job was not queued by ghl-connect (its MAC is missing or wrong), so it is not delivered')
    }
    const body = JSON.stringify(event)
    const response = await request(this.target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ghl-connect',
        [SIGNATURE_HEADER]: signBody(this.target.secret, body),
        [EVENT_ID_HEADER]: event.id,
        [EVENT_TYPE_HEADER]: event.type,
      },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    })
    await response.body.dump()
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`the CRM answered ${response.statusCode} to event ${event.type} ${event.id}; retrying`)
    }
    return { status: response.statusCode }
  }
}
