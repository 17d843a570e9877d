/**
 * What happens when HighLevel tells us of a message, however we learn it: its webhook
 * (services/api/src/webhooks/sms-replies.ts, sms-delivery-status.ts) or gap filling, which finds
 * in HighLevel's message export what a lost webhook would have said (services/worker/src/gap-fill/).
 * Both call these, so a reply or a delivery status makes the same event with the same id either
 * way, and whichever comes second changes nothing.
 */
import {
  crmEventOf, type CrmEventsRepository, type DeliveryOutcome, type DeliveryReport, type GapFillRepository,
  type SmsDeliveryStatusesRepository,
} from '@ghl-connect/db'
import { isAppError } from '@ghl-connect/errors'
import { isGhlError, type GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { oauthCredential, withFreshToken, type TokenService } from '@ghl-connect/tokens'
import type { CrmEvents } from './crm-events.ts'

/** A contact's reply, as a webhook or the export shows it. */
export interface SeenReply {
  contactId: string
  /** HighLevel's message id: the event's id is made of it. */
  messageId: string
  conversationId: string | null
  body: string
  receivedAt: Date
}

/** Whose message it is: the connection's client and location. */
export interface ReportSubject { clientId: string, locationId: string }

export type ReplyOutcome = 'published' | 'already_known'

export class MessageReports {
  constructor (private readonly deps: {
    tokens: TokenService
    ghl: GhlClient
    events: CrmEvents
    eventsOutbox: CrmEventsRepository | null
    deliveryStatuses: SmsDeliveryStatusesRepository
    gapFill: GapFillRepository
    logger: Logger
    metrics?: Metrics
  }) {}

  /**
   * A contact replied: `sms.received` for the CRM under HighLevel's message id. An event already
   * recorded (the webhook, then gap filling, or the other way round) is not read or sent again.
   * Throws when the contact cannot be read just now (the webhook then asks to be delivered again).
   * `phones`: numbers already read (gap filling reads each contact once per run); a contact absent
   * from it is read from HighLevel, unless `mayRead` says no (gap filling's budget is spent): the
   * reply then goes without its number rather than late.
   */
  async replySeen (integration: ReportSubject, reply: SeenReply, opts: { phones?: Map<string, string | null>, mayRead?: () => Promise<boolean> } = {}): Promise<ReplyOutcome> {
    const { clientId } = integration
    const shape = { clientId, contactId: reply.contactId, phone: null, body: reply.body, conversationId: reply.conversationId, messageId: reply.messageId, receivedAt: reply.receivedAt }
    const id = crmEventOf.smsReceived(shape).id
    if (this.deps.eventsOutbox && (await this.deps.eventsOutbox.existing([id])).has(id)) return 'already_known'
    let phone = opts.phones?.get(reply.contactId)
    if (phone === undefined && (!opts.mayRead || await opts.mayRead())) {
      phone = await this.phoneOf(integration, reply.contactId)
      opts.phones?.set(reply.contactId, phone)
    }
    const received = crmEventOf.smsReceived({ ...shape, phone: phone ?? null })
    if (!await this.deps.events.publish(received)) return 'already_known'
    // A location with replies is one gap filling watches, even if it never sent.
    await this.deps.gapFill.noteTraffic(integration.locationId, reply.receivedAt)
      .catch((err) => this.deps.logger.warn({ err, locationId: integration.locationId }, 'could not note the location\'s traffic for gap filling'))
    this.deps.logger.info({ clientId, locationId: integration.locationId, ghlMessageId: reply.messageId, eventId: received.id }, 'sms reply received')
    return 'published'
  }

  /** HighLevel reported a sent SMS's delivery status: applied to its outbox row (or kept for it), `sms.delivery` queued. */
  async deliveryStatusSeen (integration: ReportSubject, report: DeliveryReport): Promise<DeliveryOutcome> {
    const outcome = await this.deps.deliveryStatuses.report(report)
    if (outcome.kind === 'applied' && outcome.eventId) await this.deps.events.dispatch(outcome.eventId)
    this.deps.logger.info({ clientId: integration.clientId, ghlMessageId: report.ghlMessageId, status: report.status, outcome: outcome.kind,
      messageId: outcome.kind === 'applied' ? outcome.message.id : undefined }, 'sms delivery status reported')
    return outcome
  }

  /**
   * The reply names the contact, not the number: HighLevel is asked. A contact HighLevel no
   * longer has (or will not show) gives no number; HighLevel unreachable or busy throws.
   */
  private async phoneOf (integration: ReportSubject, contactId: string): Promise<string | null> {
    const { tokens, ghl, metrics, logger } = this.deps
    try {
      const fresh = await tokens.getFresh(integration.clientId)
      const { data } = await withFreshToken(tokens, oauthCredential(fresh))((token) =>
        timeGhlCall(metrics, 'getContact', () => ghl.contacts.get({ accessToken: token.accessToken, contactId })))
      return data.phone ?? null
    } catch (err) {
      // HighLevel refusing for good (contact gone, scope missing) or a connection that cannot get a
      // token (needs re-authorisation): the reply still reaches the CRM, without the number.
      const lasting = (isGhlError(err) && !err.retryable) || (isAppError(err) && err.statusCode < 500 && err.statusCode !== 429)
      if (lasting) {
        logger.warn({ err, clientId: integration.clientId }, 'the replying contact could not be read from HighLevel; sms.received goes without its phone number')
        return null
      }
      throw isAppError(err) ? new Error('the replying contact could not be read just now', { cause: err }) : err
    }
  }
}
