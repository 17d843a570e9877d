/**
 * HighLevel's message webhooks, for SMS. InboundMessage: a contact's reply becomes `sms.received`
 * for the CRM, recorded in the events outbox under HighLevel's message id (a webhook delivered
 * twice is one event). OutboundMessage: the delivery status of an SMS we sent, applied to its
 * outbox row by HighLevel's message id (or kept until our own `sent` write lands), with
 * `sms.delivery` for the CRM.
 *
 * Only for a location we hold (an active, claimed integration). HighLevel sends these for every
 * message of every location where the app is installed, including ones nobody here connected or
 * that were disconnected while the app stayed installed: those are answered 200 and ignored, since
 * an error would only make HighLevel deliver them again, for nothing.
 *
 * Never log the body or the phone number.
 */
import { crmEventOf, deliveryStatusOf, type DeliveryStatusesRepository, type Integration, type IntegrationsRepository } from '@ghl-connect/db'
import { badRequest, isAppError } from '@ghl-connect/errors'
import { isGhlError, type GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { CrmEvents } from '@ghl-connect/runtime'
import { oauthCredential, withFreshToken, type TokenService } from '@ghl-connect/tokens'
import type { VerifiedWebhook, WebhookHandler, WebhookOutcome } from './webhook-handler.ts'

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** The SMS fields both message webhooks carry, checked. */
function smsFields (event: VerifiedWebhook) {
  for (const field of ['messageType', 'contactId', 'conversationId', 'messageId', 'body', 'status', 'dateAdded'] as const) {
    if (event[field] !== undefined && typeof event[field] !== 'string') {
      throw badRequest('invalid_webhook', `The webhook's ${field} must be a string when present.`)
    }
  }
  return {
    messageType: str(event.messageType),
    contactId: str(event.contactId),
    conversationId: str(event.conversationId) ?? null,
    messageId: str(event.messageId),
    body: typeof event.body === 'string' ? event.body : '',
    status: str(event.status),
    dateAdded: str(event.dateAdded),
  }
}

type SmsFields = ReturnType<typeof smsFields>

/** Both message webhooks: accepted without appId, acted on only for a location we hold, SMS only. */
abstract class MessageHandler implements WebhookHandler {
  readonly appIdOptional = true

  constructor (private readonly integrations: IntegrationsRepository) {}

  async handle (event: VerifiedWebhook): Promise<WebhookOutcome> {
    if (!event.locationId) return 'ignored'
    const integration = await this.integrations.findByLocationId(event.locationId)
    if (!integration?.clientId) return 'ignored'
    const sms = smsFields(event)
    // Other channels (calls, email, chat...) change nothing of ours.
    if (sms.messageType !== 'SMS') return 'recorded'
    return this.act(event, sms, integration)
  }

  protected abstract act (event: VerifiedWebhook, sms: SmsFields, integration: Integration): Promise<WebhookOutcome>
}

export class InboundMessageHandler extends MessageHandler {
  constructor (
    integrations: IntegrationsRepository,
    private readonly tokens: TokenService,
    private readonly ghl: GhlClient,
    private readonly events: CrmEvents,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {
    super(integrations)
  }

  protected async act (event: VerifiedWebhook, sms: SmsFields, integration: Integration): Promise<WebhookOutcome> {
    if (!sms.contactId) throw badRequest('invalid_webhook', 'An InboundMessage of type SMS needs a contactId.')
    const receivedAt = sms.dateAdded && Number.isFinite(Date.parse(sms.dateAdded)) ? new Date(sms.dateAdded) : event.at
    const received = crmEventOf.smsReceived({
      clientId: integration.clientId,
      contactId: sms.contactId,
      phone: await this.phoneOf(integration, sms.contactId),
      body: sms.body,
      conversationId: sms.conversationId,
      // HighLevel's examples of an SMS leave messageId out (its schema has it): the delivery's id stands in.
      messageId: sms.messageId ?? `webhook-${event.webhookId}`,
      receivedAt,
    })
    await this.events.publish(received)
    this.logger.info({ clientId: integration.clientId, locationId: integration.locationId, ghlMessageId: sms.messageId, eventId: received.id }, 'sms reply received')
    return 'processed'
  }

  /**
   * The webhook names the contact, not the number: HighLevel is asked. A contact HighLevel no
   * longer has (or will not show) gives no number; HighLevel unreachable or busy fails the
   * webhook, which HighLevel then delivers again.
   */
  private async phoneOf (integration: Integration, contactId: string): Promise<string | null> {
    try {
      const fresh = await this.tokens.getFresh(integration.clientId)
      const { data } = await withFreshToken(this.tokens, oauthCredential(fresh))((token) =>
        timeGhlCall(this.metrics, 'getContact', () => this.ghl.contacts.get({ accessToken: token.accessToken, contactId })))
      return data.phone ?? null
    } catch (err) {
      // HighLevel refusing for good (contact gone, scope missing) or a connection that cannot get a
      // token (needs re-authorisation): the reply still reaches the CRM, without the number.
      const lasting = (isGhlError(err) && !err.retryable) || (isAppError(err) && err.statusCode < 500 && err.statusCode !== 429)
      if (lasting) {
        this.logger.warn({ err, clientId: integration.clientId }, 'the replying contact could not be read from HighLevel; sms.received goes without its phone number')
        return null
      }
      // Anything passing (HighLevel or our token path busy or down): HighLevel is asked to deliver it again (429).
      throw isAppError(err) ? new Error('the replying contact could not be read just now', { cause: err }) : err
    }
  }
}

export class OutboundMessageHandler extends MessageHandler {
  constructor (
    integrations: IntegrationsRepository,
    private readonly deliveries: DeliveryStatusesRepository,
    private readonly events: CrmEvents,
    private readonly logger: Logger,
  ) {
    super(integrations)
  }

  protected async act (event: VerifiedWebhook, sms: SmsFields, integration: Integration): Promise<WebhookOutcome> {
    const status = deliveryStatusOf(sms.status)
    // Statuses we do not keep (HighLevel's other channels' `opened`, `clicked`...) change nothing.
    if (!sms.messageId || !status) return 'recorded'
    const error = errorOf(event.error)
    const outcome = await this.deliveries.report({
      ghlMessageId: sms.messageId, status, errorCode: error.code, errorMessage: error.message, reportedAt: event.at,
    })
    if (outcome.kind === 'applied' && outcome.eventId) await this.events.dispatch(outcome.eventId)
    this.logger.info({ clientId: integration.clientId, ghlMessageId: sms.messageId, status, outcome: outcome.kind,
      messageId: outcome.kind === 'applied' ? outcome.message.id : undefined }, 'sms delivery status reported')
    return outcome.kind === 'applied' ? 'processed' : 'recorded'
  }
}

/**
 * HighLevel's message webhook pages show no error field; its provider API reports one as
 * `{code, type, message}` (ErrorDto). Taken when present, in either form.
 */
function errorOf (value: unknown): { code: string | null, message: string | null } {
  if (typeof value === 'string') return { code: null, message: value.slice(0, 500) }
  if (!value || typeof value !== 'object') return { code: null, message: null }
  const { code, message } = value as { code?: unknown, message?: unknown }
  return {
    code: typeof code === 'string' || typeof code === 'number' ? String(code).slice(0, 100) : null,
    message: typeof message === 'string' ? message.slice(0, 500) : null,
  }
}
