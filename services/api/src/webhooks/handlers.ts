/**
 * Which handler acts on which webhook `type`. A new family is a handler file and a line here.
 * A type without a handler is verified and recorded, nothing more.
 *   INSTALL, UNINSTALL   app-lifecycle.ts        a location installed under an agency we hold; an uninstall
 *   InboundMessage       sms-replies.ts          a contact's SMS reply -> `sms.received`
 *                        email-replies.ts        a contact's email (messageType Email) -> `email.received`
 *   OutboundMessage      sms-delivery-status.ts  a sent SMS's delivery status -> its outbox row, `sms.delivery`
 *   ContactDndUpdate     contact-dnd.ts          a contact's SMS opt-out
 */
import { SmsDeliveryStatusesRepository, type CrmEventsRepository, type Database, type IntegrationsRepository } from '@ghl-connect/db'
import type { GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { CrmEvents } from '@ghl-connect/core'
import type { TokenService } from '@ghl-connect/tokens'
import { AppInstallHandler, AppUninstallHandler, type AgencyInstaller } from './app-lifecycle.ts'
import { CONTACT_DND_UPDATE, type ContactDndWebhooks } from './contact-dnd.ts'
import { SmsDeliveryStatusHandler } from './sms-delivery-status.ts'
import { EmailReplyHandler } from './email-replies.ts'
import { SmsReplyHandler } from './sms-replies.ts'
import { byMessageType, type WebhookHandler } from './webhook-handler.ts'

export interface WebhookDeps {
  db: Database
  integrations: IntegrationsRepository
  tokens: TokenService
  ghl: GhlClient
  events: CrmEvents
  eventsOutbox: CrmEventsRepository | null
  logger: Logger
  metrics: Metrics
  agencyInstalls?: AgencyInstaller
  contactDnd?: ContactDndWebhooks
}

export function webhookHandlers (d: WebhookDeps): Record<string, WebhookHandler> {
  return {
    INSTALL: new AppInstallHandler(d.agencyInstalls, d.logger),
    UNINSTALL: new AppUninstallHandler(d.integrations, d.events, d.logger),
    InboundMessage: byMessageType(
      { Email: new EmailReplyHandler(d.integrations, d.events, d.logger) },
      new SmsReplyHandler(d.integrations, d.tokens, d.ghl, d.events, d.logger, d.metrics)),
    OutboundMessage: new SmsDeliveryStatusHandler(d.integrations, new SmsDeliveryStatusesRepository(d.db, d.eventsOutbox), d.events, d.logger),
    ...(d.contactDnd ? { [CONTACT_DND_UPDATE]: d.contactDnd } : {}),
  }
}
