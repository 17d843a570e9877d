/** HighLevel's messages: sending an SMS or an email, and listing what a location sent (how a lost answer is settled). */
import { GhlError } from './errors.ts'
import { requireField, withoutUndefined, type Authorized, type GhlTransport } from './transport.ts'
import type { ExportMessagesResult, GhlAnswer, GhlMessage, MessageChannel, SendMessageResult } from './types.ts'
import { GHL_VERSIONS } from './versions.ts'

export class MessagesClient {
  constructor (private readonly transport: GhlTransport) {}

  /** HighLevel has no idempotency key here: a retried call can send the SMS twice. `locationId`: whose budget it spends. */
  async sendSms ({ accessToken, locationId, contactId, message, fromNumber, toNumber, scheduledTimestamp, attachments }: Authorized & {
    locationId?: string, contactId: string, message: string, fromNumber?: string, toNumber?: string, scheduledTimestamp?: number, attachments?: string[]
  }): Promise<GhlAnswer<SendMessageResult>> {
    const answer = await this.transport.call<SendMessageResult>({
      operation: 'sendSms', method: 'POST', path: '/conversations/messages', version: GHL_VERSIONS.conversations,
      accessToken, locationId, json: { type: 'SMS', contactId, message, fromNumber, toNumber, scheduledTimestamp, attachments },
    })
    requireField(answer, 'messageId', 'sendSms')
    return answer
  }

  /**
   * An email to a contact: the same endpoint as SMS, `type: "Email"` (no idempotency key either).
   * `html` or `message` is its content; `emailTo` an address other than the contact's own;
   * `emailFrom` the sender ("Name <address>" or an address). HighLevel answers `emailMessageId` too.
   */
  async sendEmail ({ accessToken, locationId, contactId, subject, html, message, emailFrom, emailTo, emailCc, emailBcc, attachments, replyMessageId, threadId, emailReplyMode }: Authorized & {
    locationId?: string, contactId: string, subject: string, html?: string, message?: string, emailFrom?: string, emailTo?: string,
    emailCc?: string[], emailBcc?: string[], attachments?: string[], replyMessageId?: string, threadId?: string, emailReplyMode?: 'reply' | 'reply_all'
  }): Promise<GhlAnswer<SendMessageResult>> {
    const answer = await this.transport.call<SendMessageResult>({
      operation: 'sendEmail', method: 'POST', path: '/conversations/messages', version: GHL_VERSIONS.conversations,
      accessToken, locationId,
      json: { type: 'Email', contactId, subject, html, message, emailFrom, emailTo, emailCc, emailBcc, attachments, replyMessageId, threadId, emailReplyMode },
    })
    requireField(answer, 'messageId', 'sendEmail')
    return answer
  }

  /**
   * One page of a location's messages (scope `conversations/message.readonly`), oldest first
   * unless asked otherwise; pass `nextCursor` back as `cursor` for the next page. How a send
   * whose answer was lost is settled: did a message with this text reach this contact since then?
   */
  async export ({ accessToken, locationId, contactId, conversationId, channel, startDate, endDate, limit, cursor, sortBy, sortOrder }: Authorized & {
    locationId: string, contactId?: string, conversationId?: string, channel?: MessageChannel, startDate?: Date, endDate?: Date,
    limit?: number, cursor?: string, sortBy?: 'createdAt' | 'updatedAt', sortOrder?: 'asc' | 'desc'
  }): Promise<GhlAnswer<ExportMessagesResult>> {
    const query = withoutUndefined({
      locationId, contactId, conversationId, channel, startDate: startDate?.toISOString(), endDate: endDate?.toISOString(),
      limit: limit === undefined ? undefined : String(limit), cursor, sortBy, sortOrder,
    }) as Record<string, string>
    const answer = await this.transport.call<ExportMessagesResult>({
      operation: 'exportMessages', method: 'GET', path: '/conversations/messages/export', version: GHL_VERSIONS.conversations,
      accessToken, locationId, query,
    })
    requireField(answer, 'messages', 'exportMessages')
    const { messages, nextCursor } = answer.data
    if (!Array.isArray(messages)) {
      throw new GhlError('transient', 'HighLevel answered exportMessages with messages that are not a list', { operation: 'exportMessages', status: answer.status, rateLimit: answer.rateLimit })
    }
    return { ...answer, data: { ...answer.data, messages, nextCursor: typeof nextCursor === 'string' && nextCursor !== '' ? nextCursor : null } }
  }

  /**
   * One message by HighLevel's id (get-message; scope `conversations/message.readonly`): how a
   * delivery status still `pending` past the timeout is asked for. `locationId`: whose budget it spends.
   */
  async get ({ accessToken, locationId, messageId }: Authorized & { locationId: string, messageId: string }): Promise<GhlAnswer<GhlMessage>> {
    const answer = await this.transport.call<GhlMessage | { message?: GhlMessage }>({
      operation: 'getMessage', method: 'GET', path: `/conversations/messages/${encodeURIComponent(messageId)}`, version: GHL_VERSIONS.conversations,
      accessToken, locationId,
    })
    // The spec's answer is the message itself; some of HighLevel's answers wrap it in `message`.
    const wrapped = (answer.data as { message?: unknown } | null)?.message
    const data = (wrapped && typeof wrapped === 'object' && 'id' in wrapped ? wrapped : answer.data) as GhlMessage
    requireField({ ...answer, data }, 'id', 'getMessage')
    return { ...answer, data }
  }
}
