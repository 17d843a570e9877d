import { sql } from 'drizzle-orm'
import { boolean, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { ghlIntegrations } from './integrations.ts'

export const smsStatuses = ['queued', 'sending', 'sent', 'failed', 'cancelled'] as const
export type SmsStatus = (typeof smsStatuses)[number]
/** Nothing more happens to a message in these: retention may delete it once old. */
export const smsFinishedStatuses = ['sent', 'failed', 'cancelled'] as const satisfies readonly SmsStatus[]

/** The channels the one outbox sends on; every row is one message on one of them. */
export const messageChannels = ['sms', 'email'] as const
export type MessageChannel = (typeof messageChannels)[number]

/**
 * An email's parts beyond its recipient, subject and content, as the CRM gave them (HighLevel's
 * send takes them as they are). `text` is kept only when `html` is the content as well.
 */
export interface EmailOptions {
  text?: string
  fromEmail?: string
  fromName?: string
  cc?: string[]
  bcc?: string[]
  attachments?: string[]
  replyToMessageId?: string
  /** Create (upsert) the contact when no contact has the address; `contactName` names it. */
  createContact?: boolean
  contactName?: string
}

/**
 * What HighLevel last said of a sent SMS's delivery (its answer to the send, then its
 * OutboundMessage webhooks or its message export), in HighLevel's words; null before it said
 * anything. `unknown` is ours: still `pending` past DELIVERY_STATUS_TIMEOUT_SECONDS and HighLevel,
 * asked for the message by id, told nothing more.
 */
export const deliveryStatuses = ['pending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'opened', 'bounced', 'unknown'] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]

/**
 * The outbox and the history: one row per message (SMS or email) a CRM asked for. The table keeps
 * its first name; `channel` says which kind a row is, and an email's own fields are null for SMS.
 */
export const smsMessages = pgTable('sms_messages', {
  id: uuid('id').primaryKey().defaultRandom(),
  clientId: text('client_id').notNull(),
  channel: text('channel', { enum: messageChannels }).notNull().default('sms'),
  integrationId: uuid('integration_id').references(() => ghlIntegrations.id),
  idempotencyKey: text('idempotency_key'),
  contactId: text('contact_id'),
  phone: text('phone'),
  contactName: text('contact_name'),
  /** An email's recipient given by address (an email's other recipients: a contact id or a name). */
  email: text('email'),
  /** SMS: the text. Email: what HighLevel lists as its body (the HTML when given, else the text). */
  body: text('body').notNull(),
  /** Email only. */
  subject: text('subject'),
  /** Email only: whether `body` is HTML. */
  bodyIsHtml: boolean('body_is_html'),
  emailOptions: jsonb('email_options').$type<EmailOptions>(),
  status: text('status', { enum: smsStatuses }).notNull().default('queued'),
  attempts: integer('attempts').notNull().default(0),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  ghlMessageId: text('ghl_message_id'),
  ghlConversationId: text('ghl_conversation_id'),
  // The current attempt, written with `sending`: its outcome writes are conditional on its id (a
  // late attempt cannot overwrite a newer outcome), and what HighLevel is asked when that outcome
  // is unknown: did an outbound SMS with this body reach this contact after the attempt began?
  attemptId: uuid('attempt_id'),
  attemptStartedAt: timestamp('attempt_started_at', { withTimezone: true }),
  /** The HighLevel contact the attempt sent to (the recipient resolved). */
  ghlContactId: text('ghl_contact_id'),
  /** When the attempt's POST ended without an answer that says whether HighLevel took it. */
  outcomeUnknownAt: timestamp('outcome_unknown_at', { withTimezone: true }),
  /** The first retryable failure: 5xx and network failures are retried until the time budget from here runs out. */
  retryingSince: timestamp('retrying_since', { withTimezone: true }),
  deliveryStatus: text('delivery_status', { enum: deliveryStatuses }),
  /** HighLevel's error for a failed or undelivered SMS, where it gives one. */
  deliveryErrorCode: text('delivery_error_code'),
  deliveryErrorMessage: text('delivery_error_message'),
  deliveryUpdatedAt: timestamp('delivery_updated_at', { withTimezone: true }),
  /** Not sent before this (the CRM's sendAt, or pushed past the client's quiet hours); null: at once. */
  sendAt: timestamp('send_at', { withTimezone: true }),
  /** The sender number HighLevel was asked to send from (the message's, or the client's default); null: the location's own. */
  fromNumber: text('from_number'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('sms_messages_idempotency').on(t.clientId, t.idempotencyKey),
  // The reconciler looks only at rows still waiting.
  index('sms_messages_queued').on(t.createdAt).where(sql`status = 'queued'`),
  // ...and at rows left `sending` by a worker that died mid-POST.
  index('sms_messages_sending').on(t.updatedAt).where(sql`status = 'sending'`),
  index('sms_messages_client_created').on(t.clientId, t.createdAt),
  // Asking HighLevel whether an SMS was sent: its answer's ids already recorded for another row are not this one.
  index('sms_messages_ghl_message').on(t.ghlMessageId).where(sql`ghl_message_id is not null`),
  // Retention deletes finished rows by age, oldest first, a batch at a time.
  index('sms_messages_finished').on(t.updatedAt).where(sql`status in ('sent', 'failed', 'cancelled')`),
  // The release path: scheduled messages coming due, which the reconciler queues (again) ahead of their time.
  index('sms_messages_scheduled').on(t.sendAt, t.id).where(sql`status = 'queued' and send_at is not null`),
  // Delivery statuses HighLevel has not reported (gap filling, and the timeout that asks by id).
  index('sms_messages_delivery_pending').on(t.sentAt).where(sql`delivery_status = 'pending'`),
  check('sms_messages_status_known', sql`status in ('queued', 'sending', 'sent', 'failed', 'cancelled')`),
  check('sms_messages_one_recipient', sql`num_nonnulls(contact_id, phone, contact_name, email) = 1`),
  check('sms_messages_channel_known', sql`channel in ('sms', 'email')`),
  // An email has a subject and goes to no phone number; an SMS has neither an address nor a subject.
  check('sms_messages_channel_fields', sql`(channel = 'email' and subject is not null and phone is null) or (channel = 'sms' and subject is null and email is null)`),
])

export type SmsMessageRow = typeof smsMessages.$inferSelect
