/**
 * Intake of an outbox message, SMS (POST /api/sms) or email (POST /api/email, email-intake.ts
 * checks its fields and comes in through `acceptMessage`): the outbox row is written first
 * (PostgreSQL is the record), then the send job is queued. A connected client's new message goes
 * through the group commit (sms-group-commit.ts): written and queued together with the requests
 * that arrived beside it, answered once its row is durable. If Redis refuses the job, the message
 * is still accepted: the worker's outbox
 * reconciler queues it within a couple of minutes. The same idempotency key for the same client
 * answers the first message again and queues nothing.
 */
import type { IntegrationsRepository, NewEmailParts, OutboxMessage, Recipient, SmsMessagesRepository } from '@ghl-connect/db'
import { recipientOf, sendingAccess } from '@ghl-connect/db'
import { badRequest, conflict, isAppError, notFound, sendingRefused } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { SmsDispatcher } from '@ghl-connect/queues'
import type { SmsBody, SmsRecipient, SmsView } from '../schemas/sms.ts'
import { E164 } from './e164.ts'
import type { SendPlan, SendRequest, SmsScheduling } from './scheduling.ts'
import type { SmsGroupCommit } from './sms-group-commit.ts'
import { outboxView } from './outbox-view.ts'

/** A message checked on its own, either channel: what the outbox row holds besides its plan. */
export interface OutboxRequest {
  clientId: string
  idempotencyKey: string | null
  to: Recipient
  body: string
  /** An email's parts; absent: an SMS. */
  email?: NewEmailParts
}

export class SmsIntake {
  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly messages: SmsMessagesRepository,
    private readonly dispatcher: SmsDispatcher,
    private readonly logger: Logger,
    private readonly opts: { legacyPitFallback: boolean, metrics?: Metrics },
    private readonly scheduling: SmsScheduling,
    private readonly group: Pick<SmsGroupCommit, 'write'>,
  ) {}

  /** `requestId`: the api request's id, carried into the send job so the worker's lines can be followed back to it. */
  async accept (request: SmsBody, trace: { requestId?: string } = {}): Promise<{ id: string, status: OutboxMessage['status'], duplicate: boolean }> {
    const to = validRecipient(request)
    return this.acceptMessage({ clientId: request.clientId, idempotencyKey: request.idempotencyKey ?? null, to, body: request.message }, request, trace)
  }

  /** Either channel's message, its own fields checked; `asked`: its sendAt (and an SMS's fromNumber) as the CRM sent them. */
  async acceptMessage (request: OutboxRequest, asked: SendRequest, trace: { requestId?: string } = {}): Promise<{ id: string, status: OutboxMessage['status'], duplicate: boolean }> {
    const { clientId, idempotencyKey } = request
    const plan = await this.scheduling.plan(clientId, asked, undefined, request.email ? 'email' : 'sms').catch(async (err: unknown) => {
      // A retry of a scheduled request whose time has passed meanwhile answers the first message.
      const earlier = isAppError(err) && err.code === 'send_at_in_past' && idempotencyKey ? await this.messages.findByIdempotencyKey(clientId, idempotencyKey) : null
      if (earlier) return earlier
      throw err
    })
    if ('id' in plan) return this.repeated(plan, request)

    const fast = await this.group.write({ ...request, ...plan, queueNow: this.scheduling.queuesNow(plan.sendAt), requestId: trace.requestId })
    if (fast) return this.accepted(fast.id)

    // A retry after the first request succeeded answers the first message, whatever happened since.
    if (idempotencyKey) {
      const earlier = await this.messages.findByIdempotencyKey(clientId, idempotencyKey)
      if (earlier) return this.repeated(earlier, request)
    }
    const access = sendingAccess(await this.integrations.findForSending(clientId), { legacyPitFallback: this.opts.legacyPitFallback })
    if (access.kind === 'refused') throw sendingRefused(access.code)

    const { message, created } = await this.messages.insertOnce({
      ...request, integrationId: access.kind === 'oauth' ? access.integration.id : null, ...plan,
    })
    if (!created) return this.repeated(message, request)
    return this.queued(message, plan, trace)
  }

  private async queued (message: { id: string, clientId: string }, plan: SendPlan, trace: { requestId?: string }) {
    try {
      // One due later waits in the outbox; the reconciler queues it as its time nears.
      if (this.scheduling.queuesNow(plan.sendAt)) await this.dispatcher.enqueue({ ...message, sendAt: plan.sendAt }, trace)
    } catch (err) {
      this.logger.warn({ err, requestId: trace.requestId, messageId: message.id, clientId: message.clientId }, 'sms stored but not queued (Redis); the outbox reconciler will queue it')
    }
    return this.accepted(message.id)
  }

  private accepted (id: string) {
    this.opts.metrics?.smsIntake.inc({ outcome: 'accepted' })
    return { id, status: 'queued' as const, duplicate: false }
  }

  async view (id: string): Promise<SmsView> {
    const m = await this.messages.findById(id)
    // An email's id is not an SMS's: /api/email/:id answers it.
    if (!m || m.channel !== 'sms') throw notFound('sms_not_found', `There is no SMS with id ${id}; use the id POST /api/sms answered.`)
    return { ...outboxView(m), fromNumber: m.fromNumber }
  }

  private repeated (earlier: OutboxMessage, request: Pick<OutboxRequest, 'to' | 'body' | 'email'>) {
    // The same key with a different message is a bug in the caller, not a retry: say so.
    if (!sameMessage(earlier, request)) throw keyReused(earlier.id)
    this.opts.metrics?.smsIntake.inc({ outcome: 'duplicate' })
    return { id: earlier.id, status: earlier.status, duplicate: true }
  }
}

/** What the schema cannot say about a message: exactly one recipient, a valid one, and more than spaces. */
export function validRecipient (request: Pick<SmsBody, 'to' | 'message'>): Recipient {
  const to = oneRecipient(request.to)
  if (request.message.trim() === '') throw invalid('message', 'message must contain more than spaces.')
  return to
}

/** The same channel, recipient and content (an email's subject too): a retry, not a new message under a used key. */
export const sameMessage = (earlier: OutboxMessage, { to, body, email }: Pick<OutboxRequest, 'to' | 'body' | 'email'>) =>
  earlier.body === body && JSON.stringify(recipientOf(earlier)) === JSON.stringify(to) &&
  earlier.channel === (email ? 'email' : 'sms') && earlier.subject === (email?.subject ?? null)

export const keyReused = (earlierId: string) =>
  conflict('idempotency_key_reused', `This idempotency key was already used for a different message (${earlierId}); use a new key for a new message.`)

function invalid (field: string, message: string) {
  return badRequest('invalid_request', message, { fields: { [field]: message } })
}

function oneRecipient (to: SmsRecipient): Recipient {
  const given = (['contactId', 'phone', 'name'] as const).filter((k) => to[k] !== undefined)
  if (given.length !== 1) {
    throw invalid('to', `to must have exactly one of contactId, phone or name${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}.`)
  }
  if (to.contactId !== undefined) return { contactId: to.contactId }
  if (to.phone !== undefined) {
    if (!E164.test(to.phone)) throw invalid('to.phone', 'to.phone must be in E.164 format: + then the country code and number, digits only (e.g. +15550100001).')
    return { phone: to.phone }
  }
  const name = (to.name ?? '').trim()
  if (!name) throw invalid('to.name', 'to.name must contain more than spaces.')
  return { name }
}
