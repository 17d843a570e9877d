/**
 * What HighLevel's two message webhooks share, for SMS: InboundMessage (a contact's reply,
 * sms-replies.ts) and OutboundMessage (the delivery status of an SMS we sent,
 * sms-delivery-status.ts).
 *
 * Only for a location we hold (an active, claimed integration). HighLevel sends these for every
 * message of every location where the app is installed, including ones nobody here connected or
 * that were disconnected while the app stayed installed: those are answered 200 and ignored, since
 * an error would only make HighLevel deliver them again, for nothing.
 *
 * Never log the body or the phone number.
 */
import type { Integration, IntegrationsRepository } from '@ghl-connect/db'
import { badRequest } from '@ghl-connect/errors'
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

export type SmsFields = ReturnType<typeof smsFields>

/** The integration of the location a message webhook names, when a client holds it (else the webhook is ignored). */
export async function heldIntegration (integrations: IntegrationsRepository, event: VerifiedWebhook): Promise<Integration | null> {
  if (!event.locationId) return null
  const integration = await integrations.findByLocationId(event.locationId)
  return integration?.clientId ? integration : null
}

/** Both message webhooks: accepted without appId, acted on only for a location we hold, SMS only. */
export abstract class SmsMessageWebhook implements WebhookHandler {
  readonly appIdOptional = true
  /** The `messageType`s a handler acts on; any other changes nothing of ours. */
  protected readonly messageTypes: readonly string[] = ['SMS']

  constructor (private readonly integrations: IntegrationsRepository) {}

  async handle (event: VerifiedWebhook): Promise<WebhookOutcome> {
    const integration = await heldIntegration(this.integrations, event)
    if (!integration) return 'ignored'
    const sms = smsFields(event)
    // Other channels (calls, chat...) change nothing of ours.
    if (!sms.messageType || !this.messageTypes.includes(sms.messageType)) return 'recorded'
    return this.act(event, sms, integration)
  }

  protected abstract act (event: VerifiedWebhook, sms: SmsFields, integration: Integration): Promise<WebhookOutcome>
}
