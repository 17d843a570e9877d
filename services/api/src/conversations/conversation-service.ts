/**
 * A client's thread with one contact (SMS, email, ...), read from HighLevel with the client's own
 * token: the contact's conversation (GET /conversations/search by contactId), then one page of its
 * messages (GET /conversations/{id}/messages), paged as HighLevel pages them (`lastMessageId`,
 * `limit`). HighLevel lists an email there without its subject: each email of the page is read
 * once more (GET /conversations/messages/email/{id}) for it. The answer is a small shape of our
 * own, so the CRM does not depend on HighLevel's.
 */
import { AppError, badRequest, forbidden, notFound, tooManyRequests, unavailable } from '@ghl-connect/errors'
import { isGhlError, type GhlClient, type GhlMessage } from '@ghl-connect/ghl'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { withFreshToken, type Credentials, type TokenService } from '@ghl-connect/tokens'

export interface ThreadMessage {
  id: string
  direction: 'inbound' | 'outbound' | null
  /** HighLevel's channel, e.g. TYPE_SMS, TYPE_EMAIL. */
  type: string | null
  /** An email's subject; null for other messages (and an email HighLevel no longer shows). */
  subject: string | null
  /** The text; an email's is HTML as HighLevel keeps it. */
  body: string
  status: string | null
  at: string | null
}

export interface ConversationPage {
  conversationId: string
  messages: ThreadMessage[]
  /** Pass as `lastMessageId` for the next (older) page; null on the last one. */
  nextLastMessageId: string | null
}

export const THREAD_PAGE_DEFAULT = 20

export class ConversationService {
  constructor (
    private readonly credentials: Credentials,
    private readonly tokens: Pick<TokenService, 'refreshNow'>,
    private readonly ghl: GhlClient,
    private readonly metrics?: Metrics,
  ) {}

  async thread (clientId: string, contactId: string, page: { lastMessageId?: string, limit?: number } = {}): Promise<ConversationPage> {
    const credential = await this.credentials.forClient(clientId)
    const withToken = withFreshToken(this.tokens, credential)
    try {
      const { data: found } = await withToken((token) => timeGhlCall(this.metrics, 'searchConversations', () =>
        this.ghl.conversations.search({ accessToken: token.accessToken, locationId: token.locationId, contactId })))
      const conversation = found.conversations.find((c) => c.contactId === undefined || c.contactId === contactId)
      if (!conversation) {
        throw notFound('conversation_not_found', `Contact ${contactId} has no conversation in this client's GoHighLevel sub-account yet.`)
      }
      const { data } = await withToken((token) => timeGhlCall(this.metrics, 'getConversationMessages', () => this.ghl.conversations.getMessages({
        accessToken: token.accessToken, conversationId: conversation.id, lastMessageId: page.lastMessageId, limit: page.limit ?? THREAD_PAGE_DEFAULT,
      })))
      const messages: ThreadMessage[] = []
      // One at a time: a page of emails must not spend the location's burst budget at once.
      for (const m of data.messages) messages.push({ ...threadMessage(m), subject: await this.subjectOf(withToken, m) })
      return {
        conversationId: conversation.id,
        messages,
        nextLastMessageId: data.nextPage ? data.lastMessageId : null,
      }
    } catch (err) {
      throw answerOf(err)
    }
  }

  /** An email's subject (from the newest email id HighLevel's `meta.email.messageIds` names); null for any other message. */
  private async subjectOf (withToken: ReturnType<typeof withFreshToken>, m: GhlMessage): Promise<string | null> {
    const ids = (m.meta as { email?: { messageIds?: unknown } } | undefined)?.email?.messageIds
    const emailMessageId = m.messageType === 'TYPE_EMAIL' && Array.isArray(ids) ? ids.findLast((id) => typeof id === 'string' && id !== '') as string | undefined : undefined
    if (!emailMessageId) return null
    try {
      const { data } = await withToken((token) => timeGhlCall(this.metrics, 'getEmail', () => this.ghl.conversations.getEmail({ accessToken: token.accessToken, emailMessageId })))
      return typeof data.subject === 'string' ? data.subject : null
    } catch (err) {
      // An email HighLevel will not show (gone, or not found): the thread is still listed, without its subject.
      if (isGhlError(err) && err.kind === 'invalid_request') return null
      throw err
    }
  }
}

function threadMessage (m: GhlMessage): Omit<ThreadMessage, 'subject'> {
  return {
    id: m.id,
    direction: m.direction === 'inbound' || m.direction === 'outbound' ? m.direction : null,
    type: typeof m.messageType === 'string' ? m.messageType : null,
    body: typeof m.body === 'string' ? m.body : '',
    status: typeof m.status === 'string' ? m.status : null,
    at: typeof m.dateAdded === 'string' ? m.dateAdded : null,
  }
}

/** HighLevel's refusal, as an answer the CRM can act on. */
function answerOf (err: unknown): unknown {
  if (err instanceof AppError || !isGhlError(err)) return err
  switch (err.kind) {
    case 'scope_missing':
      return forbidden('scope_missing', 'The connection lacks conversations.readonly or conversations/message.readonly: add both to the app\'s scopes and have the client reconnect GoHighLevel.')
    case 'forbidden':
      return forbidden('forbidden', 'GoHighLevel refused access to this sub-account with the client\'s token.')
    case 'invalid_request':
      return badRequest('invalid_request', `GoHighLevel refused the request: ${err.message}`)
    case 'rate_limited':
      return tooManyRequests('ghl_rate_limited', 'GoHighLevel\'s rate limit for this sub-account is spent; try again shortly.', Math.max(1, Math.ceil((err.retryAfterMs ?? 10_000) / 1000)))
    case 'token_expired':
      return unavailable('token_rejected', 'GoHighLevel rejected the client\'s token even after a refresh; try again, and reconnect GoHighLevel if it persists.')
    default:
      return unavailable('ghl_unavailable', 'GoHighLevel did not answer; try again shortly.', 10)
  }
}
