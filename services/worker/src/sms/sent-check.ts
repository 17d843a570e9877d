/**
 * Asks HighLevel whether an SMS (or an email: channel Email, the same way) went out: HighLevel has no idempotency key, but it lists what it
 * took (GET /conversations/messages/export for the contact, channel SMS, since the attempt
 * began). An outbound SMS there with this message's text, whose id no other outbox row has
 * recorded, is this message.
 */
import type { OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import type { GhlClient, GhlMessage } from '@ghl-connect/ghl'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { sendChannelOf } from './send-channels.ts'
import { VerificationPending, type Verification } from './send-outcome.ts'

/** HighLevel's clock and ours may differ: the question starts this much before the attempt did. */
export const CLOCK_SKEW_MS = 60_000
const PAGE_LIMIT = 100
/** More SMS to one contact in one attempt's window than this is not a question worth paging through. */
const MAX_PAGES = 10

export type SentQuestion = Pick<OutboxMessage, 'id' | 'clientId' | 'channel' | 'body' | 'ghlContactId'> & { attemptStartedAt: Date }

/** `inFlightGraceMs`: how long a live attempt may still be waiting for HighLevel's answer. */
export async function askWhetherSent (
  ghl: GhlClient, messages: SmsMessagesRepository, metrics: Metrics | undefined,
  auth: { accessToken: string, locationId: string }, question: SentQuestion, inFlightGraceMs: number,
): Promise<Verification> {
  const contactId = question.ghlContactId
  if (!contactId) throw new Error('an attempt without a contact id cannot be checked')
  // Another row's SMS with the same text to the same contact, taken but not yet recorded, would
  // look like this one's: that one is settled first.
  if (await messages.twinUnsettled(question, new Date(Date.now() - inFlightGraceMs))) {
    return { kind: 'unanswered', err: new VerificationPending('another SMS with the same text to the same contact is being sent or settled') }
  }
  const since = new Date(question.attemptStartedAt.getTime() - CLOCK_SKEW_MS)
  const { exportChannel, listedType } = sendChannelOf(question)
  let cursor: string | undefined
  for (let page = 0; page < MAX_PAGES; page++) {
    const { data } = await timeGhlCall(metrics, 'exportMessages', () => ghl.messages.export({
      ...auth, contactId, channel: exportChannel, startDate: since, sortOrder: 'asc', limit: PAGE_LIMIT, cursor,
    }))
    const candidates = data.messages.filter((m) => isThisMessage(m, contactId, listedType, question.body, since))
    if (candidates.length > 0) {
      const claimed = await messages.claimedElsewhere(question.id, candidates.map((m) => m.id))
      const mine = candidates.find((m) => !claimed.has(m.id))
      if (mine) return { kind: 'found', ids: { messageId: mine.id, conversationId: mine.conversationId ?? null } }
    }
    if (!data.nextCursor) return { kind: 'not_found' }
    cursor = data.nextCursor
  }
  return { kind: 'unanswered', err: new VerificationPending(`more than ${MAX_PAGES * PAGE_LIMIT} SMS to the contact since the attempt began`) }
}

function isThisMessage (m: GhlMessage, contactId: string, listedType: string, body: string, since: Date): boolean {
  if (m.direction !== 'outbound' || m.body !== body) return false
  if (m.contactId !== undefined && m.contactId !== contactId) return false
  if (m.messageType !== undefined && m.messageType !== listedType) return false
  const at = m.dateAdded ? Date.parse(m.dateAdded) : Number.NaN
  return Number.isNaN(at) || at >= since.getTime()
}
