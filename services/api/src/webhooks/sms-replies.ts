/**
 * HighLevel's InboundMessage webhook, for SMS: a contact's reply becomes `sms.received` for the
 * CRM, recorded in the events outbox under HighLevel's message id (a webhook delivered twice, or
 * a reply gap filling found first, is one event): packages/core message-reports.ts, which gap
 * filling calls too. Which webhooks are taken at all: sms-message-webhook.ts.
 */
import type { Integration, IntegrationsRepository } from '@ghl-connect/db'
import { badRequest } from '@ghl-connect/errors'
import type { MessageReports } from '@ghl-connect/core'
import { SmsMessageWebhook, type SmsFields } from './sms-message-webhook.ts'
import type { VerifiedWebhook, WebhookOutcome } from './webhook-handler.ts'

export class SmsReplyHandler extends SmsMessageWebhook {
  constructor (integrations: IntegrationsRepository, private readonly reports: MessageReports) {
    super(integrations)
  }

  protected async act (event: VerifiedWebhook, sms: SmsFields, integration: Integration): Promise<WebhookOutcome> {
    if (!sms.contactId) throw badRequest('invalid_webhook', 'An InboundMessage of type SMS needs a contactId.')
    const receivedAt = sms.dateAdded && Number.isFinite(Date.parse(sms.dateAdded)) ? new Date(sms.dateAdded) : event.at
    // HighLevel unreachable or busy while the contact is read: the error fails the webhook, which HighLevel then delivers again.
    await this.reports.replySeen(integration, {
      contactId: sms.contactId,
      // HighLevel's examples of an SMS leave messageId out (its schema has it): the delivery's id stands in.
      messageId: sms.messageId ?? `webhook-${event.webhookId}`,
      conversationId: sms.conversationId,
      body: sms.body,
      receivedAt,
    })
    return 'processed'
  }
}
