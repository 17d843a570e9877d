/**
 * Sends one SMS from the outbox. Knows nothing of BullMQ: it answers what the job should do next
 * (done, or try again after some time) and the processor carries that out.
 *
 * No loss, no duplicate. HighLevel has no idempotency key, so the row's status is the guard:
 *   queued --(token, recipient, rate-limit slot)--> sending --(POST answered 2xx)--> sent
 * `sending` is written right before the POST and is conditional on `queued`, so only one
 * attempt at a time can POST a message. A POST that HighLevel answers with an error that proves
 * nothing was sent (429, 5xx, refused connection) puts the row back to `queued`.
 * If a process dies between `sending` and recording the answer, nobody can know whether
 * HighLevel sent it: the job comes back (BullMQ's stalled-job check, or the outbox reconciler
 * after a Redis loss), finds the row still `sending` and, once a live attempt could no longer be
 * in flight, fails it as `delivery_unknown` and tells the CRM, instead of sending it a second
 * time. At most once in that window, and never silently: the CRM can check the conversation and
 * resend. A POST that times out is retried: HighLevel most often has not accepted what it did
 * not answer, and dropping it would lose the message; that retry is the one place a duplicate
 * can happen.
 */
import type { OutboxFailure, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { recipientOf } from '@ghl-connect/db'
import { isAppError, NOT_CONNECTED_MESSAGE } from '@ghl-connect/errors'
import { isGhlError, type GhlClient, type GhlError } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { CrmEventPublisher } from '@ghl-connect/queues'
import type { SmsDispatcher } from '@ghl-connect/queues'
import type { LocationRateLimiter } from '../rate-limits/location-rate-limiter.ts'
import type { Credential, Credentials } from './credentials.ts'
import { callsFor, RecipientError, resolveContactId } from './recipients.ts'
import type { SentIds, SentReceipts } from './sent-receipts.ts'

export type SendDecision =
  | { kind: 'done', outcome: 'sent' | 'failed' | 'skipped' }
  /** Run the job again after `delayMs`; `reason` is for logs and metrics. */
  | { kind: 'later', delayMs: number, reason: 'rate_limited' | 'retry' | 'in_flight' }

export interface SmsSenderOptions {
  messages: SmsMessagesRepository
  credentials: Credentials
  ghl: GhlClient
  rateLimiter: LocationRateLimiter
  receipts: SentReceipts
  dispatcher: SmsDispatcher
  publishEvent: CrmEventPublisher
  logger: Logger
  metrics?: Metrics
  maxAttempts: number
  retryBaseMs: number
  /** How long a live attempt may still be waiting for HighLevel's answer (the HTTP timeout and a margin). */
  inFlightGraceMs: number
}

const MAX_RETRY_DELAY_MS = 5 * 60_000

/** The fix a person must make, by HighLevel's refusal. */
const FOR_GOOD: Partial<Record<GhlError['kind'], (err: GhlError) => OutboxFailure>> = {
  scope_missing: () => ({
    code: 'scope_missing',
    message: 'GoHighLevel refused: the connection lacks the conversations/message.write scope. Add it to the app\'s scopes (GHL_SCOPES), then have the client reconnect GoHighLevel from settings.',
  }),
  forbidden: () => ({
    code: 'forbidden',
    message: 'GoHighLevel refused: the connected sub-account has no access to this contact\'s location. Reconnect GoHighLevel choosing the sub-account the contact belongs to.',
  }),
  invalid_request: (err) => ({
    code: 'invalid_request',
    message: `GoHighLevel refused the message: ${err.messages.join('; ')}. Fix the recipient or the text and send it again.`,
  }),
  token_expired: () => ({
    code: 'token_rejected',
    message: 'GoHighLevel rejected the access token even after a refresh; reconnect GoHighLevel from settings.',
  }),
}

export class SmsSender {
  constructor (private readonly o: SmsSenderOptions) {}

  async send (messageId: string): Promise<SendDecision> {
    const { messages, logger } = this.o
    const message = await messages.findById(messageId)
    if (!message) {
      logger.warn({ messageId }, 'send job for a message that is not in the outbox; dropped')
      return { kind: 'done', outcome: 'skipped' }
    }
    const log = logger.child({ messageId, clientId: message.clientId })
    if (message.status === 'sent' || message.status === 'failed') return { kind: 'done', outcome: 'skipped' }
    if (message.status === 'sending') return this.interrupted(message, log)

    let credential: Credential
    try {
      credential = await this.o.credentials.forClient(message.clientId)
    } catch (err) {
      return this.failedBeforePost(message, err, log)
    }
    const to = recipientOf(message)
    const wait = await this.o.rateLimiter.reserve(credential.locationId, message.id, callsFor(to))
    if (wait > 0) {
      this.o.metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'location_rate_limit' })
      return { kind: 'later', delayMs: wait, reason: 'rate_limited' }
    }

    const auth = new Authorized(credential, this.o.credentials)
    let contactId: string
    try {
      contactId = await auth.call((c) => resolveContactId(this.o.ghl, this.o.metrics, c, to))
    } catch (err) {
      return this.failedBeforePost(message, err, log)
    }

    if (!await messages.markSending(message.id)) return { kind: 'done', outcome: 'skipped' }
    let sent: SentIds
    try {
      const { data } = await auth.call((c) => timeGhlCall(this.o.metrics, 'sendSms',
        () => this.o.ghl.sendSms({ accessToken: c.accessToken, contactId, message: message.body })))
      sent = { messageId: data.messageId, conversationId: data.conversationId ?? null }
    } catch (err) {
      return this.failedAfterPost(message, err, log)
    }
    let stored: OutboxMessage | null
    try {
      stored = await recordWithRetries(() => messages.markSent(message.id, sent), log, sent)
    } catch (err) {
      // Whoever finds this row `sending` later reads the answer from here instead of guessing.
      await this.o.receipts.remember(message.id, sent)
        .catch((redisErr) => log.error({ err: redisErr, ghlMessageId: sent.messageId }, 'the sent SMS could be recorded nowhere'))
      throw err
    }
    log.info({ ghlMessageId: sent.messageId, via: credential.kind }, 'sms sent')
    return this.recordedSent(message, sent, stored, log)
  }

  private async recordedSent (message: OutboxMessage, sent: SentIds, stored: OutboxMessage | null, log: Logger): Promise<SendDecision> {
    this.o.metrics?.smsOutcomes.inc({ outcome: 'sent', code: '' })
    await this.settle(message)
    await this.publish('sms.sent', {
      messageId: message.id, clientId: message.clientId, ghlMessageId: sent.messageId, conversationId: sent.conversationId,
      sentAt: (stored?.sentAt ?? new Date()).toISOString(),
    }, log)
    return { kind: 'done', outcome: 'sent' }
  }

  /** The row says an attempt was POSTing: either it still is (a stalled job's twin), or it died. */
  private async interrupted (message: OutboxMessage, log: Logger): Promise<SendDecision> {
    const receipt = await this.o.receipts.recall(message.id)
    if (receipt) {
      const stored = await this.o.messages.markSent(message.id, receipt)
      await this.o.receipts.forget(message.id)
      log.info({ ghlMessageId: receipt.messageId }, 'sms sent earlier; recorded now that PostgreSQL takes it')
      return this.recordedSent(message, receipt, stored, log)
    }
    const age = Date.now() - message.updatedAt.getTime()
    if (age < this.o.inFlightGraceMs) return { kind: 'later', delayMs: this.o.inFlightGraceMs - age, reason: 'in_flight' }
    log.error('an attempt died while HighLevel was sending this SMS; it is not sent again, so it cannot arrive twice')
    return this.fail(message, {
      code: 'delivery_unknown',
      message: 'The worker stopped while GoHighLevel was sending this SMS, so whether it was delivered is unknown. It was not sent again to avoid a duplicate; check the conversation in GoHighLevel and send again if needed.',
    }, { countAttempt: true }, log)
  }

  private async failedBeforePost (message: OutboxMessage, err: unknown, log: Logger): Promise<SendDecision> {
    if (err instanceof RecipientError) return this.fail(message, { code: err.code, message: err.message }, {}, log)
    if (isAppError(err)) {
      if (err.code === 'not_connected') return this.fail(message, { code: 'not_connected', message: NOT_CONNECTED_MESSAGE }, {}, log)
      if (err.code === 'needs_reauth') return this.fail(message, { code: 'needs_reauth', message: err.message }, {}, log)
      // location_inactive, refresh_unavailable, refresh_busy: the token may come back; retry, counted.
      const hint = (err.details?.retryAfterSeconds ?? 0) * 1000
      const row = await this.o.messages.recordAttempt(message.id, { code: err.code, message: err.message })
      return this.retryOrFail(row, { code: err.code, message: err.message }, hint, log)
    }
    if (isGhlError(err)) {
      if (err.kind === 'rate_limited') return this.rateLimited(err)
      const forGood = FOR_GOOD[err.kind]
      if (forGood) return this.fail(message, forGood(err), {}, log)
      const failure = { code: `ghl_${err.kind}`, message: `GoHighLevel did not answer the contact lookup: ${err.message}` }
      const row = await this.o.messages.recordAttempt(message.id, failure)
      return this.retryOrFail(row, failure, 0, log)
    }
    throw err
  }

  private async failedAfterPost (message: OutboxMessage, err: unknown, log: Logger): Promise<SendDecision> {
    if (isAppError(err)) {
      // The POST was refused (401) and the refresh after it failed: nothing was sent, so the
      // message goes back to `queued` and is judged like a failure before the POST.
      await this.o.messages.backToQueued(message.id, { countAttempt: false })
      return this.failedBeforePost(message, err, log)
    }
    if (isGhlError(err) && err.acceptedUnreadable) {
      // HighLevel took it (2xx) but its answer was unreadable: record it as sent without ids,
      // never send it again.
      log.warn({ err }, 'HighLevel accepted the SMS but its answer could not be read; recorded as sent without ids')
      const stored = await this.o.messages.markSent(message.id, { messageId: null, conversationId: null })
      return this.recordedSent(message, { messageId: null, conversationId: null }, stored, log)
    }
    if (!isGhlError(err)) {
      // Not HighLevel's answer (our own bug, or PostgreSQL down mid-job): leave the row `sending`
      // so the reconciler, not a blind retry, decides later.
      throw err
    }
    if (err.kind === 'rate_limited') {
      await this.o.messages.backToQueued(message.id, { countAttempt: false })
      return this.rateLimited(err)
    }
    const forGood = FOR_GOOD[err.kind]
    if (forGood) return this.fail(message, forGood(err), { countAttempt: true }, log)
    const failure = { code: 'ghl_unavailable', message: `GoHighLevel did not take the SMS: ${err.message}` }
    const row = await this.o.messages.backToQueued(message.id, { countAttempt: true, failure })
    return this.retryOrFail(row, failure, 0, log)
  }

  /** A 429: wait the interval HighLevel advertised, with jitter; it is not an attempt. */
  private rateLimited (err: GhlError): SendDecision {
    this.o.metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'ghl_429' })
    const base = err.retryAfterMs ?? 10_000
    return { kind: 'later', delayMs: Math.round(base * (1 + Math.random() * 0.2)), reason: 'rate_limited' }
  }

  private async retryOrFail (row: OutboxMessage | null, failure: OutboxFailure, atLeastMs: number, log: Logger): Promise<SendDecision> {
    if (!row) return { kind: 'done', outcome: 'skipped' }
    if (row.attempts >= this.o.maxAttempts) {
      return this.fail(row, { code: failure.code, message: `${failure.message} (gave up after ${row.attempts} attempts)` }, {}, log)
    }
    // Exponential backoff with jitter (half to all of the step), so retries of many messages spread out.
    const step = Math.min(MAX_RETRY_DELAY_MS, this.o.retryBaseMs * 2 ** (row.attempts - 1))
    const delayMs = Math.max(atLeastMs, Math.round(step / 2 + Math.random() * step / 2))
    this.o.metrics?.smsOutcomes.inc({ outcome: 'retried', code: failure.code })
    log.warn({ attempts: row.attempts, retryInMs: delayMs, code: failure.code }, 'sms attempt failed; retrying')
    return { kind: 'later', delayMs, reason: 'retry' }
  }

  private async fail (message: OutboxMessage, failure: OutboxFailure, opts: { countAttempt?: boolean }, log: Logger): Promise<SendDecision> {
    const row = await this.o.messages.markFailed(message.id, failure, opts)
    if (!row) return { kind: 'done', outcome: 'skipped' }
    this.o.metrics?.smsOutcomes.inc({ outcome: 'failed', code: failure.code })
    log.warn({ code: failure.code, attempts: row.attempts }, 'sms failed')
    await this.settle(message)
    await this.publish('sms.failed', {
      messageId: message.id, clientId: message.clientId, code: failure.code, message: failure.message, attempts: row.attempts,
    }, log)
    return { kind: 'done', outcome: 'failed' }
  }

  private async settle (message: OutboxMessage): Promise<void> {
    await this.o.dispatcher.settled(message.clientId).catch((err) => this.o.logger.warn({ err }, 'could not update the client backlog'))
  }

  private async publish (type: 'sms.sent' | 'sms.failed', data: Record<string, unknown>, log: Logger): Promise<void> {
    // The message's outcome is already stored; an event that cannot be queued must not undo it.
    await this.o.publishEvent(type, data).catch((err) => log.warn({ err, event: type }, 'could not queue the CRM event'))
  }
}

/** Runs HighLevel calls with a credential; on an expired token, refreshes once and retries once, for the whole job. */
class Authorized {
  private refreshed = false
  constructor (private credential: Credential, private readonly credentials: Credentials) {}

  async call<T> (fn: (c: { accessToken: string, locationId: string }) => Promise<T>): Promise<T> {
    try {
      return await fn(this.credential)
    } catch (err) {
      if (!isGhlError(err) || err.kind !== 'token_expired' || this.refreshed) throw err
      this.refreshed = true
      const fresh = await this.credentials.refreshed(this.credential)
      if (!fresh) throw err
      this.credential = fresh
      return fn(this.credential)
    }
  }
}

/**
 * HighLevel took the SMS; only our record of it is missing. Retrying the write (not the send)
 * for a while rides out a PostgreSQL blip; if it still fails the row stays `sending` and is
 * reported as delivery_unknown later, never sent twice.
 */
async function recordWithRetries<T> (write: () => Promise<T>, log: Logger, sent: SentIds): Promise<T> {
  let lastError: unknown
  for (let i = 0; i < 6; i++) {
    try {
      return await write()
    } catch (err) {
      lastError = err
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** i))
    }
  }
  log.error({ err: lastError, ghlMessageId: sent.messageId }, 'HighLevel sent the SMS but it could not be recorded as sent')
  throw lastError
}
