/**
 * HighLevel's `ContactDndUpdate` webhook: a contact's do-not-disturb changed. The SMS part of it
 * is kept per location and contact (the latest by the webhook's timestamp wins), and the worker
 * reads it before each POST, so an SMS to a contact who opted out fails as `contact_dnd` without
 * spending an attempt.
 *
 * HighLevel's example of this event (ghl-docs/webhook-events/ContactDndUpdate.md) has no `appId`,
 * like its message events: one without it is accepted for a location a client of ours holds.
 */
import type { ContactDndRepository, IntegrationsRepository } from '@ghl-connect/db'
import { badRequest, forbidden } from '@ghl-connect/errors'
import { emailDoNotDisturb, smsDoNotDisturb } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import type { VerifiedWebhook, WebhookHandler, WebhookOutcome } from './webhook-handler.ts'

export const CONTACT_DND_UPDATE = 'ContactDndUpdate'

/** The fields read, as HighLevel's schema for the event names them (`id` is the contact's). */
export interface ContactDndEvent {
  type: string
  appId?: string
  locationId?: string
  id?: unknown
  dnd?: unknown
  dndSettings?: unknown
}

export class ContactDndWebhooks implements WebhookHandler {
  readonly appIdOptional = true

  constructor (
    private readonly contacts: ContactDndRepository,
    private readonly integrations: IntegrationsRepository,
    private readonly logger: Logger,
  ) {}

  /** `at`: the webhook's timestamp, already checked to be within the replay window. */
  async handle (event: ContactDndEvent & Pick<VerifiedWebhook, 'at'>): Promise<WebhookOutcome> {
    const { locationId, id: contactId, at } = event
    if (!locationId || typeof contactId !== 'string' || !contactId) {
      throw badRequest('invalid_webhook', 'A ContactDndUpdate needs the locationId and the contact\'s id.')
    }
    const sms = smsDoNotDisturb(event)
    const email = emailDoNotDisturb(event)
    if (sms === undefined && email === undefined) {
      throw badRequest('invalid_webhook', 'A ContactDndUpdate needs dnd, dndSettings.SMS.status or dndSettings.Email.status (active, inactive or permanent).')
    }
    // The event carries the contact's whole DND: a channel it leaves out has none.
    const smsDnd = sms ?? false
    const emailDnd = email ?? false
    if (event.appId === undefined && !await this.integrations.findByLocationId(locationId)) {
      throw forbidden('foreign_app', 'This ContactDndUpdate names no app and a location no client of this app is connected to.')
    }
    const kept = await this.contacts.record({ locationId, contactId, smsDnd, emailDnd, changedAt: at })
    this.logger.info({ locationId, contactId, smsDnd, emailDnd, kept }, kept ? 'contact do-not-disturb recorded' : 'contact do-not-disturb older than the one kept; ignored')
    return kept ? 'processed' : 'recorded'
  }
}
