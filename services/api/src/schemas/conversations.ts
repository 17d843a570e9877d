import { Type, type Static } from 'typebox'
import { ClientId, DateTime } from './common.ts'

export const ConversationParams = Type.Object({
  clientId: ClientId,
  contactId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'A HighLevel contact id' }),
}, { additionalProperties: false })

export const ConversationQuery = Type.Object({
  lastMessageId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'The previous page\'s nextLastMessageId' })),
  limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|100)$', description: 'Messages per page, 1 to 100; 20 by default' })),
}, { additionalProperties: false })
export type ConversationQuery = Static<typeof ConversationQuery>

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])

export const ConversationThread = Type.Object({
  conversationId: Type.String(),
  messages: Type.Array(Type.Object({
    id: Type.String(),
    direction: Nullable(Type.Union([Type.Literal('inbound'), Type.Literal('outbound')])),
    type: Nullable(Type.String({ description: "HighLevel's channel, e.g. TYPE_SMS, TYPE_EMAIL" })),
    subject: Nullable(Type.String({ description: "An email's subject; null for other messages" })),
    body: Type.String({ description: 'The text; an email\'s is HTML as HighLevel keeps it' }),
    status: Nullable(Type.String({ description: "HighLevel's status, e.g. delivered" })),
    at: Nullable(DateTime),
  })),
  nextLastMessageId: Nullable(Type.String({ description: 'Pass as lastMessageId for the next (older) page; null on the last page' })),
})
