/**
 * Reading a contact's conversation: GET /conversations/search and GET
 * /conversations/{conversationId}/messages, as HighLevel's spec (conversations.json
 * search-conversation and get-messages) describes them. Where the spec is silent, see the README.
 */
import type { FastifyInstance } from 'fastify'
import { authorize, canReach, type SandboxContext } from '../context.ts'
import { MESSAGES, sendGhlError } from '../http.ts'
import { EMAIL_PROVIDER_ID } from '../message-webhooks.ts'
import type { ThreadEntry } from '../state.ts'
import { CONVERSATIONS_VERSION, entryView, TYPE_VIEW } from './api.ts'

export function conversationRoutes (app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx

  app.get<{ Querystring: Record<string, string | undefined> }>('/conversations/search', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations.readonly' })
    if (!grant) return reply
    const q = request.query
    const limit = q.limit === undefined ? 20 : Number(q.limit)
    const problems = [
      ...(q.locationId ? [] : ['locationId must be a string']),
      ...(Number.isInteger(limit) && limit >= 1 && limit <= 100 ? [] : ['limit must be a number between 1 and 100']),
    ]
    if (problems.length > 0) return sendGhlError(reply, 400, problems.join('; '))
    if (!canReach(ctx, grant, q.locationId ?? '')) return sendGhlError(reply, 403, MESSAGES.location)
    // A conversation exists once a message was sent or received; newest last message first (sortBy last_message_date).
    const latest = new Map<string, ThreadEntry>()
    for (const entry of state.thread) {
      if (entry.message.locationId !== q.locationId) continue
      if (q.contactId !== undefined && entry.message.contactId !== q.contactId) continue
      latest.set(entry.message.conversationId, entry)
    }
    const conversations = [...latest.values()].reverse().map((last) => {
      const contact = state.contacts.get(last.message.contactId)
      const at = last.direction === 'outbound' ? last.message.sentAt : last.message.receivedAt
      return {
        id: last.message.conversationId,
        contactId: last.message.contactId,
        locationId: last.message.locationId,
        lastMessageBody: last.message.body,
        lastMessageType: TYPE_VIEW[last.message.type]?.messageType ?? 'TYPE_SMS',
        lastMessageDirection: last.direction,
        lastMessageDate: Date.parse(at),
        type: 'TYPE_PHONE',
        unreadCount: 0,
        // The schema requires these strings; a contact without one gets an empty string.
        fullName: contact?.name ?? '',
        contactName: contact?.name ?? '',
        email: contact?.email ?? '',
        phone: contact?.phone ?? '',
      }
    })
    return { conversations: conversations.slice(0, limit), total: conversations.length }
  })

  // get-email-by-id: an email a contact sent (the spec's GetEmailMessageResponseDto).
  app.get<{ Params: { id: string } }>('/conversations/messages/email/:id', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations/message.readonly' })
    if (!grant) return reply
    const m = state.receivedMessages.find((r) => r.email?.emailMessageId === request.params.id)
    if (!m?.email) return sendGhlError(reply, 400, 'Email not found')
    if (!canReach(ctx, grant, m.locationId)) return sendGhlError(reply, 403, MESSAGES.location)
    return {
      id: m.email.emailMessageId, threadId: m.email.threadId, locationId: m.locationId, contactId: m.contactId, conversationId: m.conversationId,
      dateAdded: m.receivedAt, subject: m.email.subject, body: m.body, direction: 'inbound', status: 'delivered', contentType: 'text/html',
      attachments: m.email.attachments, provider: 'custom', from: m.email.from, to: m.email.to, conversationProviderId: EMAIL_PROVIDER_ID,
    }
  })

  app.get<{ Params: { conversationId: string }, Querystring: Record<string, string | undefined> }>('/conversations/:conversationId/messages', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations/message.readonly' })
    if (!grant) return reply
    const { conversationId } = request.params
    const q = request.query
    const limit = q.limit === undefined ? 20 : Number(q.limit)
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 100)) return sendGhlError(reply, 400, 'limit must be a number between 1 and 100')
    const contact = state.contactOfConversation(conversationId)
    if (!contact) return sendGhlError(reply, 400, 'Conversation not found')
    if (!canReach(ctx, grant, contact.locationId)) return sendGhlError(reply, 403, MESSAGES.location)
    // Newest first; the next page starts after `lastMessageId`, the previous page's last (oldest) message.
    const all = state.thread.filter((e) => e.message.conversationId === conversationId).reverse()
    const from = q.lastMessageId === undefined ? 0 : all.findIndex((e) => e.message.messageId === q.lastMessageId) + 1
    if (from === 0 && q.lastMessageId !== undefined) return sendGhlError(reply, 400, 'lastMessageId is not a message of this conversation')
    const page = all.slice(from, from + limit)
    return {
      lastMessageId: page.at(-1)?.message.messageId ?? '',
      nextPage: from + limit < all.length,
      messages: page.map(entryView),
    }
  })
}
