/**
 * Every event the CRM can receive, and its id. An id names what the event reports
 * (`<type>-<subject>`), never the moment it was published: publishing the same fact twice (a
 * retried job, a second worker, a replayed webhook) gives the same id, so it is one row in the
 * events outbox and a receiver that has seen the id drops a repeat.
 */
import type { CrmEventType } from '@ghl-connect/crm-events'
import type { DeliveryStatus, SmsMessageRow } from '../schema/index.ts'

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

/** The ids of the SMS outcome events, for the sender to queue after the outcome's transaction. */
export const smsEventIds = {
  sent: (messageId: string) => `sms.sent-${messageId}`,
  failed: (messageId: string) => `sms.failed-${messageId}`,
  /** One per message and status: HighLevel repeating a status is the same event. */
  delivery: (messageId: string, status: DeliveryStatus) => `sms.delivery-${messageId}-${status}`,
}

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

export const crmEventOf = {
  smsSent: (m: Pick<SmsMessageRow, 'id' | 'clientId' | 'ghlMessageId' | 'ghlConversationId' | 'sentAt'>): NewCrmEvent => {
    const sentAt = m.sentAt ?? new Date()
    return {
      id: smsEventIds.sent(m.id),
      type: 'sms.sent',
      occurredAt: sentAt,
      data: { messageId: m.id, clientId: m.clientId, ghlMessageId: m.ghlMessageId, conversationId: m.ghlConversationId, sentAt: sentAt.toISOString() },
    }
  },

  smsFailed: (m: Pick<SmsMessageRow, 'id' | 'clientId' | 'errorCode' | 'errorMessage' | 'attempts' | 'updatedAt'>): NewCrmEvent => ({
    id: smsEventIds.failed(m.id),
    type: 'sms.failed',
    occurredAt: m.updatedAt,
    data: { messageId: m.id, clientId: m.clientId, code: m.errorCode, message: m.errorMessage, attempts: m.attempts },
  }),

  /** HighLevel reported the delivery of a sent SMS (`deliveryStatus` set on the row). */
  smsDelivery: (m: Pick<SmsMessageRow, 'id' | 'clientId' | 'ghlMessageId' | 'deliveryErrorCode' | 'deliveryErrorMessage' | 'deliveryUpdatedAt'> & { deliveryStatus: DeliveryStatus }): NewCrmEvent => {
    const at = m.deliveryUpdatedAt ?? new Date()
    return {
      id: smsEventIds.delivery(m.id, m.deliveryStatus),
      type: 'sms.delivery',
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
