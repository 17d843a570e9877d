/**
 * SMS intake: the outbox row is written first (PostgreSQL is the record), then the send job is
 * queued. A connected client's new message goes through the group commit (sms-group-commit.ts):
 * written and queued together with the requests that arrived beside it, answered once its row is
 * durable. If Redis refuses the job, the message is still accepted: the worker's outbox
 * reconciler queues it within a couple of minutes. The same idempotency key for the same client
 * answers the first message again and queues nothing.
 */
import type { IntegrationsRepository, OutboxMessage, Recipient, SmsMessagesRepository } from '@ghl-connect/db'
import { recipientOf, sendingAccess } from '@ghl-connect/db'
import { badRequest, conflict, isAppError, notFound, sendingRefused } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { SmsDispatcher } from '@ghl-connect/queues'
import type { SmsBody, SmsRecipient, SmsView } from '../schemas/sms.ts'
import { E164 } from './e164.ts'
import type { SendPlan, SmsScheduling } from './scheduling.ts'
import type { SmsGroupCommit } from './sms-group-commit.ts'

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
    const { clientId, idempotencyKey } = request
    const plan = await this.scheduling.plan(clientId, request).catch(async (err: unknown) => {
      // A retry of a scheduled request whose time has passed meanwhile answers the first message.
      const earlier = isAppError(err) && err.code === 'send_at_in_past' && idempotencyKey ? await this.messages.findByIdempotencyKey(clientId, idempotencyKey) : null
      if (earlier) return earlier
      throw err
    })
    if ('id' in plan) return this.repeated(plan, to, request.message)

    const fast = await this.group.write({
      clientId, idempotencyKey: idempotencyKey ?? null, to, body: request.message, ...plan, queueNow: this.scheduling.queuesNow(plan.sendAt), requestId: trace.requestId,
    })
    if (fast) return this.accepted(fast.id)

    // A retry after the first request succeeded answers the first message, whatever happened since.
    if (idempotencyKey) {
      const earlier = await this.messages.findByIdempotencyKey(clientId, idempotencyKey)
      if (earlier) return this.repeated(earlier, to, request.message)
    }
    const access = sendingAccess(await this.integrations.findForSending(clientId), { legacyPitFallback: this.opts.legacyPitFallback })
    if (access.kind === 'refused') throw sendingRefused(access.code)

    const { message, created } = await this.messages.insertOnce({
      clientId, integrationId: access.kind === 'oauth' ? access.integration.id : null, idempotencyKey: idempotencyKey ?? null, to, body: request.message, ...plan,
    })
    if (!created) return this.repeated(message, to, request.message)
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
    if (!m) throw notFound('sms_not_found', `There is no SMS with id ${id}; use the id POST /api/sms answered.`)
    return {
      id: m.id,
      status: m.status,
      attempts: m.attempts,
      error: m.errorCode ? { code: m.errorCode, message: m.errorMessage ?? '' } : null,
      ghlMessageId: m.ghlMessageId,
      conversationId: m.ghlConversationId,
      createdAt: m.createdAt.toISOString(),
      sendAt: m.sendAt?.toISOString() ?? null,
      fromNumber: m.fromNumber,
      sentAt: m.sentAt?.toISOString() ?? null,
      deliveryStatus: m.deliveryStatus,
      deliveryError: m.deliveryErrorCode !== null || m.deliveryErrorMessage !== null ? { code: m.deliveryErrorCode, message: m.deliveryErrorMessage } : null,
      deliveryUpdatedAt: m.deliveryUpdatedAt?.toISOString() ?? null,
    }
  }

  private repeated (earlier: OutboxMessage, to: Recipient, body: string) {
    // The same key with a different message is a bug in the caller, not a retry: say so.
    if (!sameMessage(earlier, to, body)) throw keyReused(earlier.id)
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

export const sameMessage = (earlier: OutboxMessage, to: Recipient, body: string) =>
  earlier.body === body && JSON.stringify(recipientOf(earlier)) === JSON.stringify(to)

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
