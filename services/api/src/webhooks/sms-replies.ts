/**
 * HighLevel's InboundMessage webhook, for SMS: a contact's reply becomes `sms.received` for the
 * CRM, recorded in the events outbox under HighLevel's message id (a webhook delivered twice is
 * one event). Which webhooks are taken at all: sms-message-webhook.ts.
 */
import { crmEventOf, type Integration, type IntegrationsRepository } from '@ghl-connect/db'
import { badRequest, isAppError } from '@ghl-connect/errors'
import { isGhlError, type GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { CrmEvents } from '@ghl-connect/core'
import { oauthCredential, withFreshToken, type TokenService } from '@ghl-connect/tokens'
import { SmsMessageWebhook, type SmsFields } from './sms-message-webhook.ts'
import type { VerifiedWebhook, WebhookOutcome } from './webhook-handler.ts'

export class SmsReplyHandler extends SmsMessageWebhook {
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
