/**
 * Every event the CRM can receive, and its id. An id names what the event reports
 * (`<type>-<subject>`), never the moment it was published: publishing the same fact twice (a
 * retried job, a second worker, a replayed webhook) gives the same id, so it is one row in the
 * events outbox and a receiver that has seen the id drops a repeat.
 */
import type { CrmEventType } from '@ghl-connect/crm-events'
import type { DeliveryStatus, MessageChannel, SmsMessageRow } from '../schema/index.ts'

// The types and the body the CRM receives are the contract's (@ghl-connect/crm-events, which
// imports nothing of ours): re-exported so db's users have them beside the events they build.
export { crmEventTypes, type CrmEvent, type CrmEventType } from '@ghl-connect/crm-events'

/** An event to record in the outbox. */
export interface NewCrmEvent {
  id: string
  type: CrmEventType
  occurredAt: Date
  data: Record<string, unknown>
}

/** The integration a connection event is about: a new connection has a new id, and each refresh a new version. */
export interface ConnectionSubject { integrationId: string, clientId: string, locationId: string }

/**
 * The ids of an outbox message's outcome events, for the sender to queue after the outcome's
 * transaction: the channel names the type (`sms.sent-<id>`, `email.sent-<id>`).
 */
export const messageEventIds = (channel: MessageChannel) => ({
  sent: (messageId: string) => `${channel}.sent-${messageId}`,
  failed: (messageId: string) => `${channel}.failed-${messageId}`,
  /** One per message and status: HighLevel repeating a status is the same event. */
  delivery: (messageId: string, status: DeliveryStatus) => `${channel}.delivery-${messageId}-${status}`,
})
export const smsEventIds = messageEventIds('sms')

/** A row's channel; rows built by hand (tests, older callers) without one are SMS. */
type Channelled = { channel?: MessageChannel }
const channelOf = (m: Channelled): MessageChannel => m.channel ?? 'sms'

/** A contact's SMS to a client, as HighLevel's InboundMessage webhook reports it. */
export interface InboundSms {
  clientId: string
  contactId: string
  phone: string | null
  body: string
  conversationId: string | null
  /** HighLevel's message id: a webhook delivered twice is one event. */
  messageId: string
  receivedAt: Date
}

/** A contact's email to a client, as HighLevel's InboundMessage webhook (messageType Email) reports it. */
export interface InboundEmail {
  clientId: string
  locationId: string
  contactId: string
  conversationId: string | null
  /** HighLevel's id of the email (`emailMessageId`, else its conversation message id): a webhook delivered twice is one event. */
  emailMessageId: string
  /** HighLevel's conversation message id, when the webhook carries one (its email example does not). */
  messageId: string | null
  threadId: string | null
  from: string | null
  to: string[]
  subject: string | null
  /** The email as text; `html` is HighLevel's body when it is HTML (its example's is), else null. */
  text: string
  html: string | null
  /** Attachment URLs. */
  attachments: string[]
  receivedAt: Date
}

export const crmEventOf = {
  /** `sms.sent` or `email.sent`, by the row's channel. */
  smsSent: (m: Pick<SmsMessageRow, 'id' | 'clientId' | 'ghlMessageId' | 'ghlConversationId' | 'sentAt'> & Channelled): NewCrmEvent => {
    const sentAt = m.sentAt ?? new Date()
    const channel = channelOf(m)
    return {
      id: messageEventIds(channel).sent(m.id),
      type: `${channel}.sent`,
      occurredAt: sentAt,
      data: { messageId: m.id, clientId: m.clientId, ghlMessageId: m.ghlMessageId, conversationId: m.ghlConversationId, sentAt: sentAt.toISOString() },
    }
  },

  /** `sms.failed` or `email.failed`, by the row's channel. */
  smsFailed: (m: Pick<SmsMessageRow, 'id' | 'clientId' | 'errorCode' | 'errorMessage' | 'attempts' | 'updatedAt'> & Channelled): NewCrmEvent => ({
    id: messageEventIds(channelOf(m)).failed(m.id),
    type: `${channelOf(m)}.failed`,
    occurredAt: m.updatedAt,
    data: { messageId: m.id, clientId: m.clientId, code: m.errorCode, message: m.errorMessage, attempts: m.attempts },
  }),

  /** HighLevel reported the delivery of a sent SMS or email (`deliveryStatus` set on the row): `sms.delivery` or `email.delivery`. */
  smsDelivery: (m: Pick<SmsMessageRow, 'id' | 'clientId' | 'ghlMessageId' | 'deliveryErrorCode' | 'deliveryErrorMessage' | 'deliveryUpdatedAt'> & { deliveryStatus: DeliveryStatus } & Channelled): NewCrmEvent => {
    const at = m.deliveryUpdatedAt ?? new Date()
    const channel = channelOf(m)
    return {
      id: messageEventIds(channel).delivery(m.id, m.deliveryStatus),
      type: `${channel}.delivery`,
      occurredAt: at,
      data: {
        messageId: m.id,
        clientId: m.clientId,
        ghlMessageId: m.ghlMessageId,
        status: m.deliveryStatus,
        error: m.deliveryErrorCode !== null || m.deliveryErrorMessage !== null ? { code: m.deliveryErrorCode, message: m.deliveryErrorMessage } : null,
        at: at.toISOString(),
      },
    }
  },

  smsReceived: (m: InboundSms): NewCrmEvent => ({
    id: `sms.received-${m.messageId}`,
    type: 'sms.received',
    occurredAt: m.receivedAt,
    data: {
      clientId: m.clientId, contactId: m.contactId, phone: m.phone, body: m.body,
      conversationId: m.conversationId, messageId: m.messageId, receivedAt: m.receivedAt.toISOString(),
    },
  }),

  emailReceived: (m: InboundEmail): NewCrmEvent => ({
    id: `email.received-${m.emailMessageId}`,
    type: 'email.received',
    occurredAt: m.receivedAt,
    data: {
      clientId: m.clientId, locationId: m.locationId, contactId: m.contactId, conversationId: m.conversationId,
      emailMessageId: m.emailMessageId, messageId: m.messageId, threadId: m.threadId,
      from: m.from, to: m.to, subject: m.subject, text: m.text, html: m.html, attachments: m.attachments,
      receivedAt: m.receivedAt.toISOString(),
    },
  }),

  /**
   * The connection stopped working. A refresh failure names the token version it failed on (the
   * next failure of the same pair is the same event); an uninstall ends the integration for good.
   */
  connectionBroken: (s: ConnectionSubject, reason: string, tokenVersion?: number): NewCrmEvent => ({
    id: `connection.broken-${s.integrationId}-${reason}${tokenVersion === undefined ? '' : `-${tokenVersion}`}`,
    type: 'connection.broken',
    occurredAt: new Date(),
    data: { clientId: s.clientId, locationId: s.locationId, reason },
  }),

  /** A refresh succeeded after failures: `tokenVersion` is the version it replaced. */
  connectionRecovered: (s: ConnectionSubject, tokenVersion: number): NewCrmEvent => ({
    id: `connection.recovered-${s.integrationId}-${tokenVersion}`,
    type: 'connection.recovered',
    occurredAt: new Date(),
    data: { clientId: s.clientId, locationId: s.locationId },
  }),

  /** The client's connection moved to another location; the new integration is the subject. */
  connectionReplaced: (s: ConnectionSubject, previousLocationId: string): NewCrmEvent => ({
    id: `connection.replaced-${s.integrationId}`,
    type: 'connection.replaced',
    occurredAt: new Date(),
    data: { clientId: s.clientId, previousLocationId, locationId: s.locationId },
  }),

  /**
   * The client's refreshes have failed for a while (`failingSince`) and its access token runs out
   * at `expiresAt`: act before it breaks. One per failing episode: a good refresh bumps the token
   * version, and every failure of that version is this same event.
   */
  connectionExpiring: (s: ConnectionSubject, tokenVersion: number, at: { failingSince: Date, expiresAt: Date }): NewCrmEvent => ({
    id: `connection.expiring-${s.integrationId}-${tokenVersion}`,
    type: 'connection.expiring',
    occurredAt: new Date(),
    data: { clientId: s.clientId, locationId: s.locationId, failingSince: at.failingSince.toISOString(), expiresAt: at.expiresAt.toISOString() },
  }),

  /**
   * An agency (Company) connection's refresh token was refused: its sub-accounts that live on its
   * token (`locations`; `more` when there were more than the event lists) stop when their tokens
   * expire, until the agency approves the app again. One per broken token version.
   */
  agencyBroken: (a: { integrationId: string, tokenVersion: number, companyId: string }, reason: string,
    locations: Array<{ clientId: string, locationId: string }>, more: boolean): NewCrmEvent => ({
    id: `agency.broken-${a.integrationId}-${reason}-${a.tokenVersion}`,
    type: 'agency.broken',
    occurredAt: new Date(),
    data: { companyId: a.companyId, reason, locations: locations.map((l) => ({ clientId: l.clientId || null, locationId: l.locationId })), more },
  }),

  installPending: (i: { integrationId: string, locationId: string, locationName: string }): NewCrmEvent => ({
    id: `install.pending-${i.integrationId}`,
    type: 'install.pending',
    occurredAt: new Date(),
    data: { locationId: i.locationId, locationName: i.locationName },
  }),
}
