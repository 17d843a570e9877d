import { Type, type Static } from 'typebox'
import { ClientId, DateTime } from './common.ts'
import { IdempotencyKey, SMS_BATCH_MAX, SmsBody, SmsStatus, SmsView } from './sms.ts'

/** RFC 5322's limit for a header line, which the subject is. */
export const EMAIL_SUBJECT_MAX = 998
/** An email's HTML or text: 256 KiB each, counted in bytes (UTF-8). */
export const EMAIL_BODY_MAX_BYTES = 262_144
/** A request with both parts at their largest and every other field: the route's own body limit (BODY_LIMIT_BYTES is for small bodies). */
export const EMAIL_REQUEST_LIMIT_BYTES = 2 * EMAIL_BODY_MAX_BYTES + 65_536
export const EMAIL_ADDRESSES_MAX = 50
export const EMAIL_ATTACHMENTS_MAX = 10

/** An address as given; whether it is well formed is checked in the intake (one simple rule, said in its 400). */
const address = (description = 'An email address, e.g. jane@example.com') => Type.String({ minLength: 3, maxLength: 254, description })

export const EmailRecipient = Type.Object({
  contactId: SmsBody.properties.to.properties.contactId,
  email: Type.Optional(address('An address: the one contact with it (any case) in the location; with createContact, created when none has it')),
  name: SmsBody.properties.to.properties.name,
}, { additionalProperties: false, description: 'Exactly one of contactId, email or name' })
export type EmailRecipient = Static<typeof EmailRecipient>

export const EmailBody = Type.Object({
  clientId: ClientId,
  to: EmailRecipient,
  subject: Type.String({ minLength: 1, maxLength: EMAIL_SUBJECT_MAX, description: 'The subject, 1 to 998 characters' }),
  html: Type.Optional(Type.String({ minLength: 1, maxLength: EMAIL_BODY_MAX_BYTES, description: 'The HTML body, up to 256 KiB; html or text is required' })),
  text: Type.Optional(Type.String({ minLength: 1, maxLength: EMAIL_BODY_MAX_BYTES, description: 'The plain-text body, up to 256 KiB; html or text is required (with html: its text part)' })),
  fromEmail: Type.Optional(address("The sender's address; default: the sub-account's")),
  fromName: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "The sender's name shown with fromEmail" })),
  cc: Type.Optional(Type.Array(address(), { maxItems: EMAIL_ADDRESSES_MAX, description: 'Copies, up to 50 addresses' })),
  bcc: Type.Optional(Type.Array(address(), { maxItems: EMAIL_ADDRESSES_MAX, description: 'Blind copies, up to 50 addresses' })),
  attachments: Type.Optional(Type.Array(Type.String({ minLength: 8, maxLength: 2048, description: 'An https URL HighLevel fetches' }), { maxItems: EMAIL_ATTACHMENTS_MAX, description: 'Up to 10 attachment URLs (https)' })),
  replyToMessageId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: "HighLevel's id of the email this one answers (it joins that thread)" })),
  createContact: Type.Optional(Type.Boolean({ description: 'With to.email: create the contact (named contactName, if given) when no contact has the address, and send' })),
  contactName: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'With createContact: the new contact\'s full name' })),
  idempotencyKey: Type.Optional(IdempotencyKey),
  sendAt: Type.Optional(Type.String({
    minLength: 1, maxLength: 40,
    description: 'Send at this time, ISO 8601 with its offset, up to 30 days ahead. Quiet hours do not apply to email',
  })),
}, { additionalProperties: false })
export type EmailBody = Static<typeof EmailBody>

/** One email of a batch: POST /api/email's body with its idempotency key required. */
export const EmailBatchItem = Type.Object({ ...EmailBody.properties, idempotencyKey: IdempotencyKey }, { additionalProperties: false })
export type EmailBatchItem = Static<typeof EmailBatchItem>

export const EmailBatchBody = Type.Object({
  messages: Type.Array(Type.Unknown(), { minItems: 1, maxItems: SMS_BATCH_MAX, description: '1 to 1,000 emails, each shaped like POST /api/email with its idempotencyKey' }),
}, { additionalProperties: false })
export type EmailBatchBody = Static<typeof EmailBatchBody>

export const EmailIdParams = Type.Object({
  id: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'The id POST /api/email answered' }),
}, { additionalProperties: false })
export type EmailIdParams = Static<typeof EmailIdParams>

export const EmailView = Type.Object({
  id: Type.String(),
  status: SmsStatus,
  attempts: SmsView.properties.attempts,
  error: SmsView.properties.error,
  ghlMessageId: SmsView.properties.ghlMessageId,
  conversationId: SmsView.properties.conversationId,
  createdAt: DateTime,
  sendAt: Type.Union([DateTime, Type.Null()], { description: 'Not sent before this (scheduled); null: at once' }),
  sentAt: SmsView.properties.sentAt,
  deliveryStatus: SmsView.properties.deliveryStatus,
  deliveryError: SmsView.properties.deliveryError,
  deliveryUpdatedAt: SmsView.properties.deliveryUpdatedAt,
})
export type EmailView = Static<typeof EmailView>
