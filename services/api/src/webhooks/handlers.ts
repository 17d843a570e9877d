/**
 * Which handler acts on which webhook `type`. A new family is a handler file and a line here.
 * A type without a handler is verified and recorded, nothing more.
 *   INSTALL, UNINSTALL   app-lifecycle.ts        a location installed under an agency we hold; an uninstall
 *   InboundMessage       sms-replies.ts          a contact's SMS reply -> `sms.received`
 *                        email-replies.ts        a contact's email (messageType Email) -> `email.received`
 *   OutboundMessage      sms-delivery-status.ts  a sent SMS's delivery status -> its outbox row, `sms.delivery`
 *   ContactDndUpdate     contact-dnd.ts          a contact's SMS opt-out
 */
import type { IntegrationsRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEvents, MessageReports } from '@ghl-connect/core'
import { AppInstallHandler, AppUninstallHandler, type AgencyInstaller } from './app-lifecycle.ts'
import { CONTACT_DND_UPDATE, type ContactDndWebhooks } from './contact-dnd.ts'
import { SmsDeliveryStatusHandler } from './sms-delivery-status.ts'
import { EmailReplyHandler } from './email-replies.ts'
import { SmsReplyHandler } from './sms-replies.ts'
import { byMessageType, type WebhookHandler } from './webhook-handler.ts'

export interface WebhookDeps {
  integrations: IntegrationsRepository
  events: CrmEvents
  /** Replies and delivery statuses: the same path gap filling takes. */
  messageReports: MessageReports
  logger: Logger
  agencyInstalls?: AgencyInstaller
  contactDnd?: ContactDndWebhooks
}

export function webhookHandlers (d: WebhookDeps): Record<string, WebhookHandler> {
  return {
    INSTALL: new AppInstallHandler(d.agencyInstalls, d.logger),
    UNINSTALL: new AppUninstallHandler(d.integrations, d.events, d.logger),
    InboundMessage: byMessageType(
      { Email: new EmailReplyHandler(d.integrations, d.events, d.logger) },
      new SmsReplyHandler(d.integrations, d.messageReports)),
    OutboundMessage: new SmsDeliveryStatusHandler(d.integrations, d.messageReports),
    ...(d.contactDnd ? { [CONTACT_DND_UPDATE]: d.contactDnd } : {}),
  }
}
