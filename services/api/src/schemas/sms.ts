import { Type, type Static } from 'typebox'
import { ClientId, DateTime } from './common.ts'

export const SMS_MAX_LENGTH = 1600

export const SmsRecipient = Type.Object({
  contactId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'A HighLevel contact id' })),
  phone: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'E.164, e.g. +15550100001: found in the location, or created' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "The contact's full name; must match exactly one contact" })),
}, { additionalProperties: false, description: 'Exactly one of contactId, phone or name' })
export type SmsRecipient = Static<typeof SmsRecipient>

export const IdempotencyKey = Type.String({
  minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$',
  description: 'Repeat it when retrying: the same key for the same client answers the first message and sends nothing new',
})

export const SmsBody = Type.Object({
  clientId: ClientId,
  to: SmsRecipient,
  message: Type.String({ minLength: 1, maxLength: SMS_MAX_LENGTH, description: 'The text, 1 to 1,600 characters' }),
  idempotencyKey: Type.Optional(IdempotencyKey),
  sendAt: Type.Optional(Type.String({
    minLength: 1, maxLength: 40,
    description: 'Send at this time, ISO 8601 with its offset (e.g. 2026-03-14T09:00:00-04:00), up to 30 days ahead; the client\'s quiet hours may push it later',
  })),
  fromNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: "The sender: one of the sub-account's numbers, E.164; default: the client's defaultFromNumber, else the sub-account's own" })),
}, { additionalProperties: false })
export type SmsBody = Static<typeof SmsBody>

export const SMS_BATCH_MAX = 1000

/**
 * One message of a batch: POST /api/sms's body, the idempotency key required (a batch is retried
 * whole). Its fields are named one by one: a field added to POST /api/sms is refused here until
 * the batch intake writes it too, rather than taken and ignored.
 */
export const SmsBatchItem = Type.Object({
  clientId: SmsBody.properties.clientId, to: SmsBody.properties.to, message: SmsBody.properties.message, idempotencyKey: IdempotencyKey,
  sendAt: SmsBody.properties.sendAt, fromNumber: SmsBody.properties.fromNumber,
}, { additionalProperties: false })
export type SmsBatchItem = Static<typeof SmsBatchItem>

/** Only the envelope is checked here: each message is checked on its own, so one bad message does not sink the batch. */
export const SmsBatchBody = Type.Object({
  messages: Type.Array(Type.Unknown(), { minItems: 1, maxItems: SMS_BATCH_MAX, description: '1 to 1,000 messages, each shaped like POST /api/sms with its idempotencyKey' }),
}, { additionalProperties: false })
export type SmsBatchBody = Static<typeof SmsBatchBody>

export const SmsStatus = Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed'), Type.Literal('cancelled')])

/**
 * Answered to a POST /api/sms without an idempotency key: its retry (after a timeout, a reset, a
 * 5xx) is a new message, which may mean a second SMS. Named in docs/crm-guide.md.
 */
export const IDEMPOTENCY_WARNING_HEADER = 'idempotency-warning'
export const IDEMPOTENCY_WARNING = 'no idempotencyKey: a retry of this request is a new message and may send a second SMS; send one key per message and repeat it when retrying'

export const SmsAccepted = Type.Object({ id: Type.String({ format: 'uuid' }), status: SmsStatus })
/** 202's document: the body, and the warning header a keyless request gets. */
export const SmsAcceptedAnswer = { ...SmsAccepted, headers: { [IDEMPOTENCY_WARNING_HEADER]: { type: 'string', description: `Only when the request had no idempotencyKey: "${IDEMPOTENCY_WARNING}"` } } }

// One object shape rather than a union of two: the answer of 1,000 results serialises without
// matching each result against the union's branches.
export const SmsBatchResult = Type.Object({
  index: Type.Integer({ description: 'The message\'s place in `messages`, from 0' }),
  id: Type.Optional(Type.String({ format: 'uuid', description: 'When taken in (new or repeated): its id, as POST /api/sms answers' })),
  status: Type.Optional(SmsStatus),
  error: Type.Optional(Type.Object({
    code: Type.String({ description: 'invalid_request, send_at_in_past, send_at_too_far, idempotency_key_reused, not_connected or needs_reauth' }),
    message: Type.String(),
    field: Type.Union([Type.String(), Type.Null()], { description: 'The field of the message at fault (to.phone, idempotencyKey...); null for the message itself' }),
  }, { description: 'When refused: why' })),
}, { description: 'The message at `index`: its id and status, or why it was refused' })
export type SmsBatchResult = Static<typeof SmsBatchResult>

export const SmsBatchAccepted = Type.Object({
  accepted: Type.Integer({ description: 'Messages with an id (new or repeated)' }),
  failed: Type.Integer({ description: 'Messages refused' }),
  results: Type.Array(SmsBatchResult, { description: 'One per message, in the order sent' }),
})
export type SmsBatchAccepted = Static<typeof SmsBatchAccepted>

export const SmsIdParams = Type.Object({
  id: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'The id POST /api/sms answered' }),
}, { additionalProperties: false })
export type SmsIdParams = Static<typeof SmsIdParams>

export const SmsView = Type.Object({
  id: Type.String(),
  status: SmsStatus,
  attempts: Type.Integer({ description: 'Sends HighLevel answered (a 429 is not one)' }),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  ghlMessageId: Type.Union([Type.String(), Type.Null()]),
  conversationId: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
  sendAt: Type.Union([DateTime, Type.Null()], { description: 'Not sent before this (scheduled, or pushed past quiet hours); null: at once' }),
  fromNumber: Type.Union([Type.String(), Type.Null()], { description: "The sender number asked of HighLevel; null: the sub-account's own" }),
  sentAt: Type.Union([DateTime, Type.Null()]),
  deliveryStatus: Type.Union([
    Type.Literal('pending'), Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('read'), Type.Literal('undelivered'), Type.Literal('failed'),
    Type.Literal('opened'), Type.Literal('bounced'), Type.Literal('unknown'), Type.Null(),
  ], {
    description: 'What HighLevel last reported of the delivery: pending (its answer to the send), sent, delivered, read, undelivered or failed (an email also opened or bounced); unknown: still pending past the delivery-status timeout and HighLevel, asked, said nothing more (a later report replaces it); null before it said anything',
  }),
  deliveryError: Type.Union([Type.Object({ code: Type.Union([Type.String(), Type.Null()]), message: Type.Union([Type.String(), Type.Null()]) }), Type.Null()], {
    description: "HighLevel's error for a failed or undelivered SMS, where it gave one",
  }),
  deliveryUpdatedAt: Type.Union([DateTime, Type.Null()]),
})
export type SmsView = Static<typeof SmsView>
