/** HighLevel's conversations: a location's (or one contact's) threads and a thread's messages, page by page. */
import { GhlError } from './errors.ts'
import { withoutUndefined, type Authorized, type GhlTransport } from './transport.ts'
import type { ConversationMessagesPage, ConversationSearchResult, GhlAnswer, GhlEmailMessage } from './types.ts'
import { GHL_VERSIONS } from './versions.ts'

export class ConversationsClient {
  constructor (private readonly transport: GhlTransport) {}

  /** A location's conversations, optionally only one contact's (scope `conversations.readonly`). */
  async search ({ accessToken, locationId, contactId, limit }: Authorized & { locationId: string, contactId?: string, limit?: number }): Promise<GhlAnswer<ConversationSearchResult>> {
    const answer = await this.transport.call<ConversationSearchResult>({
      operation: 'searchConversations', method: 'GET', path: '/conversations/search', version: GHL_VERSIONS.conversations,
      accessToken, query: withoutUndefined({ locationId, contactId, limit: limit === undefined ? undefined : String(limit) }) as Record<string, string>,
    })
    const { conversations } = answer.data ?? {}
    return { ...answer, data: { ...answer.data, conversations: Array.isArray(conversations) ? conversations.filter((c) => typeof c?.id === 'string') : [] } }
  }

  /**
   * One page of a conversation's messages (scope `conversations/message.readonly`), as HighLevel
   * pages them: `limit` (default 20) after `lastMessageId`, the previous page's last message.
   */
  async getMessages ({ accessToken, conversationId, lastMessageId, limit }: Authorized & { conversationId: string, lastMessageId?: string, limit?: number }): Promise<GhlAnswer<ConversationMessagesPage>> {
    const answer = await this.transport.call<{ messages?: unknown, lastMessageId?: unknown, nextPage?: unknown }>({
      operation: 'getConversationMessages', method: 'GET', path: `/conversations/${encodeURIComponent(conversationId)}/messages`,
      version: GHL_VERSIONS.conversations, accessToken,
      query: withoutUndefined({ lastMessageId, limit: limit === undefined ? undefined : String(limit) }) as Record<string, string>,
    })
    // The spec puts the page at the top level; a page nested under `messages` is read too, should
    // HighLevel wrap it as it wraps other answers in a field named after them (`contact`, `location`).
    const page = (answer.data && typeof answer.data.messages === 'object' && !Array.isArray(answer.data.messages) && answer.data.messages !== null
      ? answer.data.messages : answer.data) as { messages?: unknown, lastMessageId?: unknown, nextPage?: unknown }
    if (!Array.isArray(page?.messages)) {
      throw new GhlError('transient', 'HighLevel answered getConversationMessages without a list of messages', { operation: 'getConversationMessages', status: answer.status, rateLimit: answer.rateLimit })
    }
    return {
      ...answer,
      data: {
        messages: page.messages as ConversationMessagesPage['messages'],
        lastMessageId: typeof page.lastMessageId === 'string' && page.lastMessageId !== '' ? page.lastMessageId : null,
        nextPage: page.nextPage === true,
      },
    }
  }

  /**
   * One email (scope `conversations/message.readonly`): a conversation's messages list an email
   * by type only (TYPE_EMAIL, with `meta.email.messageIds`), its subject and addresses are here.
   */
  async getEmail ({ accessToken, emailMessageId }: Authorized & { emailMessageId: string }): Promise<GhlAnswer<GhlEmailMessage>> {
    const answer = await this.transport.call<GhlEmailMessage>({
      operation: 'getEmail', method: 'GET', path: `/conversations/messages/email/${encodeURIComponent(emailMessageId)}`,
      version: GHL_VERSIONS.conversations, accessToken,
    })
    if (typeof answer.data?.id !== 'string') {
      throw new GhlError('transient', 'HighLevel answered getEmail without an email', { operation: 'getEmail', status: answer.status, rateLimit: answer.rateLimit })
    }
    return answer
  }
}
