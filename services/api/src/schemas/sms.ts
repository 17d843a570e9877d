import { Type, type Static } from 'typebox'
import { ClientId, DateTime } from './common.ts'

export const SMS_MAX_LENGTH = 1600

export const SmsRecipient = Type.Object({
  contactId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'A HighLevel contact id' })),
  phone: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'E.164, e.g. +15550100001: found in the location, or created' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "The contact's full name; must match exactly one contact" })),
}, { additionalProperties: false, description: 'Exactly one of contactId, phone or name' })
export type SmsRecipient = Static<typeof SmsRecipient>

export const SmsBody = Type.Object({
  clientId: ClientId,
  to: SmsRecipient,
  message: Type.String({ minLength: 1, maxLength: SMS_MAX_LENGTH, description: 'The text, 1 to 1,600 characters' }),
  idempotencyKey: Type.Optional(Type.String({
    minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$',
    description: 'Repeat it when retrying: the same key for the same client answers the first message and sends nothing new',
  })),
}, { additionalProperties: false })
export type SmsBody = Static<typeof SmsBody>

export const SmsStatus = Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed')])

export const SmsAccepted = Type.Object({ id: Type.String({ format: 'uuid' }), status: SmsStatus })

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
  sentAt: Type.Union([DateTime, Type.Null()]),
  deliveryStatus: Type.Union([
    Type.Literal('pending'), Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('read'), Type.Literal('undelivered'), Type.Literal('failed'), Type.Null(),
  ], {
    description: 'What HighLevel last reported of the delivery: pending (its answer to the send), sent, delivered, read, undelivered or failed; null before it said anything',
  }),
  deliveryError: Type.Union([Type.Object({ code: Type.Union([Type.String(), Type.Null()]), message: Type.Union([Type.String(), Type.Null()]) }), Type.Null()], {
    description: "HighLevel's error for a failed or undelivered SMS, where it gave one",
  }),
  deliveryUpdatedAt: Type.Union([DateTime, Type.Null()]),
})
export type SmsView = Static<typeof SmsView>
