/**
 * HighLevel's OutboundMessage webhook, for SMS and email: the delivery status of a message we sent (delivered,
 * undelivered, failed, read...), applied to its outbox row by HighLevel's message id, or kept
 * until our own `sent` write lands (packages/db: repositories/sms-delivery-statuses.ts), with
 * `sms.delivery` (or `email.delivery`) for the CRM: packages/core message-reports.ts, which gap
 * filling calls too. Which webhooks are taken at all: sms-message-webhook.ts.
 */
import { deliveryStatusOf, type Integration, type IntegrationsRepository } from '@ghl-connect/db'
import type { MessageReports } from '@ghl-connect/core'
import { SmsMessageWebhook, type SmsFields } from './sms-message-webhook.ts'
import type { VerifiedWebhook, WebhookOutcome } from './webhook-handler.ts'

export class SmsDeliveryStatusHandler extends SmsMessageWebhook {
  // An email's delivery (delivered, failed, opened, bounced) comes the same way, by HighLevel's message id.
  protected override readonly messageTypes = ['SMS', 'Email']

  constructor (integrations: IntegrationsRepository, private readonly reports: MessageReports) {
    super(integrations)
  }

  protected async act (event: VerifiedWebhook, sms: SmsFields, integration: Integration): Promise<WebhookOutcome> {
    const status = deliveryStatusOf(sms.status)
    // Statuses we do not keep (HighLevel's other channels' `opened`, `clicked`...) change nothing.
    if (!sms.messageId || !status) return 'recorded'
    const error = errorOf(event.error)
    const outcome = await this.reports.deliveryStatusSeen(integration, {
      ghlMessageId: sms.messageId, status, errorCode: error.code, errorMessage: error.message, reportedAt: event.at,
    })
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
