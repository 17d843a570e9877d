/**
 * Sends one SMS from the outbox. Knows nothing of BullMQ: it answers what the job should do next
 * (done, or try again after some time) and the processor carries that out.
 *
 * No loss, no duplicate. HighLevel has no idempotency key, so the row's status is the guard:
 *   queued --(token, recipient, rate-limit slot)--> sending --(POST answered 2xx)--> sent
 * `sending` is written right before the POST, conditional on `queued`, with a fresh attempt id,
 * the attempt's start and the contact: only one attempt at a time can POST a message, and every
 * outcome write (sent, failed, back to queued) is conditional on that attempt id, so a late
 * attempt never overwrites a newer outcome. An answer that proves nothing was sent (429, 5xx,
 * a refused connection, a 401 before the refresh) puts the row back to `queued`.
 * An attempt whose outcome nobody knows (a reset after the request was written, a gateway's
 * 502/504, a timeout, or a process that died while `sending`) is not sent again blindly: once it
 * can no longer be in flight, HighLevel is asked whether an outbound SMS with this text reached
 * this contact since the attempt began. Found: `sent` with HighLevel's ids. Not found once
 * HighLevel has had time to list it: sent again. HighLevel cannot be asked: asked again later,
 * and only after SMS_VERIFY_FOR_SECONDS is it reported `delivery_unknown`.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ContactDndRepository, OutboxFailure, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { deliveryEvent, recipientOf, smsEventIds } from '@ghl-connect/db'
import { GhlError, type GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { SmsDispatcher } from '@ghl-connect/queues'
import type { CrmEvents } from '@ghl-connect/runtime'
import { oauthCredential, withFreshToken, type Credential, type Credentials, type TokenService } from '@ghl-connect/tokens'
import type { LocationRateLimiter } from '@ghl-connect/rate-limits'
import { CONTACT_DND, optedOutOfSms } from './contact-dnd.ts'
import { callsFor, resolveContact, SearchPageDeferred, type ResolvedContact } from './recipients.ts'
import { recordSent } from './record-sent.ts'
import type { SmsRelease } from './release.ts'
import type { RetryPolicy } from './retry-policy.ts'
import {
  afterCountedAttempt, decideAfterPost, decideBeforePost, decideVerification, verifyWait,
  type AfterPostStep, type NextStep, type Verification, type VerifyPolicy,
} from './send-outcome.ts'
import { askWhetherSent } from './sent-check.ts'
import type { SentIds, SentReceipts } from './sent-receipts.ts'

export type SendDecision =
  | { kind: 'done', outcome: 'sent' | 'failed' | 'skipped' }
  /** Run the job again after `delayMs`; `reason` is for logs and metrics. */
  | { kind: 'later', delayMs: number, reason: 'rate_limited' | 'retry' | 'in_flight' | 'verify' | 'scheduled' }

export interface SmsSenderDeps extends RetryPolicy, VerifyPolicy {
  messages: SmsMessagesRepository
  /** Opt-outs HighLevel's ContactDndUpdate webhooks reported, read before the POST. */
  contactDnd: Pick<ContactDndRepository, 'smsDnd'>
  credentials: Credentials
  tokens: Pick<TokenService, 'refreshNow'>
  ghl: GhlClient
  rateLimiter: LocationRateLimiter
  /** Scheduled messages and quiet hours: whether a queued message may go now. */
  release: SmsRelease
  receipts: SentReceipts
  dispatcher: SmsDispatcher
  /** `markSent` / `markFailed` record the outcome's event with it; this queues its delivery. */
  events: Pick<CrmEvents, 'dispatch'>
  logger: Logger
  metrics?: Metrics
}

/** The attempt a `sending` row records. */
type Attempt = OutboxMessage & { attemptId: string, attemptStartedAt: Date, ghlContactId: string }

const skipped: SendDecision = { kind: 'done', outcome: 'skipped' }
/** Longer than this, a job does not hold its worker slot waiting for a search page's rate-limit slot. */
const SEARCH_PAGE_MAX_WAIT_MS = 5_000

export class SmsSender {
  constructor (private readonly deps: SmsSenderDeps) {}

  /** `trace`: the job's id and the api request that queued it (none when the reconciler did), on every line about this SMS. */
  async send (messageId: string, trace: { jobId?: string, requestId?: string } = {}): Promise<SendDecision> {
    const { messages, ghl, metrics } = this.deps
    const logger = this.deps.logger.child({ requestId: trace.requestId, jobId: trace.jobId, messageId })
    const message = await messages.findById(messageId)
    if (!message) {
      logger.warn('send job for a message that is not in the outbox; dropped')
      return skipped
    }
    const log = logger.child({ clientId: message.clientId })
    if (message.status === 'sent' || message.status === 'failed') return skipped
    if (message.status === 'cancelled') {
      // Cancelled while its job was running (or could not be removed): it leaves the client's backlog here.
      await this.settle(message, log)
      return skipped
    }
    if (message.status === 'sending') return this.settleAttempt(message, log)
    const hold = await this.deps.release.waitMs(message)
    if (hold > 0) return { kind: 'later', delayMs: hold, reason: 'scheduled' }

    // queued: a token, a rate-limit slot and the recipient first; nothing is POSTed yet.
    let credential: Credential
    try {
      credential = await this.deps.credentials.forClient(message.clientId)
    } catch (err) {
      return this.failedBeforePost(message, err, log)
    }
    const to = recipientOf(message)
    const wait = await this.deps.rateLimiter.reserve(credential.locationId, message.id, callsFor(to))
    if (wait > 0) {
      metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'location_rate_limit' })
      return { kind: 'later', delayMs: wait, reason: 'rate_limited' }
    }

    const withToken = withFreshToken(this.deps.tokens, credential)
    const beforePage = (page: number) => this.reserveSearchPage(credential.locationId, message.id, page)
    let contact: ResolvedContact
    try {
      contact = await withToken((token) => resolveContact(ghl, metrics, token, to, beforePage))
    } catch (err) {
      if (err instanceof SearchPageDeferred) {
        metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'location_rate_limit' })
        return { kind: 'later', delayMs: err.delayMs, reason: 'rate_limited' }
      }
      return this.failedBeforePost(message, err, log)
    }
    // An opted-out contact is never POSTed to: failed from `queued`, no attempt spent.
    if (await optedOutOfSms(this.deps.contactDnd, credential.locationId, contact)) return this.fail(message, CONTACT_DND, { countAttempt: false }, log)
    // The POST goes with the token the lookup ended with, and shares its one refresh.
    return this.post(message, withToken.credential, contact.id, log, withToken.refreshed)
  }

  /**
   * queued -> sending -> POST. A 401 (expired token) sends nothing: the row goes back to `queued`
   * while the token is refreshed (the refresh may wait for another process's lock, and a row
   * left `sending` that long would be taken for an orphan), then a new attempt POSTs once more.
   */
  private async post (message: OutboxMessage, credential: Credential, contactId: string, log: Logger, alreadyRefreshed: boolean): Promise<SendDecision> {
    const { messages, ghl, metrics } = this.deps
    let refreshed = alreadyRefreshed
    for (;;) {
      const attemptId = randomUUID()
      // Only the attempt that wins this write POSTs.
      if (!await messages.markSending(message.id, { attemptId, contactId, startedAt: new Date() })) return skipped
      let sent: SentIds
      try {
        const { data } = await timeGhlCall(metrics, 'sendSms',
          () => ghl.sendSms({ accessToken: credential.accessToken, locationId: credential.locationId, contactId, message: message.body, fromNumber: message.fromNumber ?? undefined }))
        sent = { messageId: data.messageId, conversationId: data.conversationId ?? null, status: data.status ?? null }
      } catch (err) {
        const step = decideAfterPost(err, Math.random(), { canRefresh: credential.kind === 'oauth' && !refreshed })
        if (step.kind !== 'refresh_and_resend') return this.failedAfterPost(message, attemptId, step, err, log)
        if (credential.kind !== 'oauth') throw err // canRefresh said otherwise
        if (!await messages.backToQueued(message.id, attemptId, { countAttempt: false })) return skipped
        refreshed = true
        try {
          credential = oauthCredential(await this.deps.tokens.refreshNow(credential.clientId, credential.integration))
        } catch (refreshErr) {
          return this.failedBeforePost(message, refreshErr, log)
        }
        continue
      }
      // sending -> sent, as this attempt only
      const stored = await recordSent(messages, this.deps.receipts, message.id, attemptId, sent, log)
      if (stored) log.info({ ghlMessageId: sent.messageId, via: credential.kind }, 'sms sent')
      return this.recordedSent(message, sent, stored, log)
    }
  }

  /**
   * A name search's further page is one more call of the location's budget, taken like the
   * first: a slot soon is waited for here; a slot far off sends the job back to wait (its
   * reservation kept for it under the same holder).
   */
  private async reserveSearchPage (locationId: string, messageId: string, page: number): Promise<void> {
    const holder = `${messageId}:search-page-${page}`
    for (;;) {
      const wait = await this.deps.rateLimiter.reserve(locationId, holder, 1)
      if (wait <= 0) return
      if (wait > SEARCH_PAGE_MAX_WAIT_MS) throw new SearchPageDeferred(wait)
      await sleep(wait)
    }
  }

  /**
   * `stored` null: a newer outcome was written first (or another process recorded this one);
   * nothing to tell. Else `sms.sent` was recorded with the row; its id is deterministic, so
   * queuing it again is harmless.
   */
  private async recordedSent (message: OutboxMessage, sent: SentIds, stored: OutboxMessage | null, log: Logger): Promise<SendDecision> {
    if (!stored) {
      log.warn({ ghlMessageId: sent.messageId }, 'HighLevel took this attempt\'s SMS, but the message already has a newer outcome; left as it is')
      return skipped
    }
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'sent', code: '' })
    await this.settle(message, log)
    // A delivery report that beat our `sent` write was applied with it: its event goes out too.
    const delivery = deliveryEvent(stored)
    await this.deps.events.dispatch(smsEventIds.sent(message.id), ...(delivery ? [delivery.id] : []))
    return { kind: 'done', outcome: 'sent' }
  }

  /**
   * The row says an attempt was POSTing and nobody recorded how it ended: it still is (a stalled
   * job's twin), its answer was lost, or its process died. Settled from the answer kept in Redis,
   * or by asking HighLevel once the attempt can no longer be in flight.
   */
  private async settleAttempt (message: OutboxMessage, log: Logger): Promise<SendDecision> {
    if (!isAttempt(message)) {
      // Left `sending` before attempts carried ids and contacts: nothing to ask HighLevel with.
      return this.fail(message, {
        code: 'delivery_unknown',
        message: 'The worker stopped while GoHighLevel was sending this SMS, so whether it was delivered is unknown. It was not sent again to avoid a duplicate; check the conversation in GoHighLevel and send it again if needed.',
      }, { attemptId: null, countAttempt: true }, log)
    }
    const receipt = await this.deps.receipts.recall(message.id)
    if (receipt && receipt.attemptId === message.attemptId) {
      const stored = await this.deps.messages.markSent(message.id, receipt.attemptId, receipt)
      await this.deps.receipts.forget(message.id)
      if (stored) log.info({ ghlMessageId: receipt.messageId }, 'sms sent earlier; recorded now that PostgreSQL takes it')
      return this.recordedSent(message, receipt, stored, log)
    }
    const wait = verifyWait(message, this.deps, Date.now())
    if (wait > 0) return { kind: 'later', delayMs: wait, reason: message.outcomeUnknownAt ? 'verify' : 'in_flight' }

    const answer = await this.askHighLevel(message)
    const step = decideVerification(answer, message, this.deps, Date.now(), Math.random())
    switch (step.kind) {
      case 'rethrow':
        throw (answer as { err: unknown }).err
      case 'sent': {
        const stored = await this.deps.messages.markSent(message.id, message.attemptId, step.ids)
        if (stored) log.info({ ghlMessageId: step.ids.messageId }, 'the SMS whose outcome was unknown is in HighLevel: recorded as sent')
        return this.recordedSent(message, step.ids, stored, log)
      }
      case 'send_again': {
        log.warn({ unanswered: message.outcomeUnknownAt !== null }, 'HighLevel has no such SMS since the attempt began: nothing was sent, sending it again')
        this.deps.metrics?.smsOutcomes.inc({ outcome: 'verified_unsent', code: message.errorCode ?? 'worker_stopped' })
        // A POST that got no answer is a failed try against the retry budget; a process that died is not HighLevel's failure.
        const unanswered = message.outcomeUnknownAt !== null
        const failure = unanswered ? { code: message.errorCode ?? 'ghl_unavailable', message: message.errorMessage ?? 'GoHighLevel did not answer the SMS.' } : undefined
        const row = await this.deps.messages.backToQueued(message.id, message.attemptId, { countAttempt: true, failure, retrying: unanswered })
        if (!row) return skipped
        if (!failure) return { kind: 'later', delayMs: 0, reason: 'retry' }
        return this.retryOrFail(row, { failure, atLeastMs: 0 }, log)
      }
      case 'ask_later':
        log.warn({ askAgainInMs: step.delayMs, err: answer.kind === 'unanswered' ? answer.err : undefined }, 'whether HighLevel took the SMS is not known yet; asking again later')
        return { kind: 'later', delayMs: step.delayMs, reason: 'verify' }
      case 'fail':
        return this.fail(message, step.failure, { attemptId: message.attemptId, countAttempt: true }, log)
    }
  }

  /** The question to HighLevel, on the location's rate limit and with a fresh token. Never throws what it can answer with. */
  private async askHighLevel (message: Attempt): Promise<Verification> {
    try {
      const credential = await this.deps.credentials.forClient(message.clientId)
      const wait = await this.deps.rateLimiter.reserve(credential.locationId, `${message.id}:verify`, 1)
      if (wait > 0) return { kind: 'unanswered', err: rateLimitedLocally(wait) }
      return await withFreshToken(this.deps.tokens, credential)((token) =>
        askWhetherSent(this.deps.ghl, this.deps.messages, this.deps.metrics, token, message, this.deps.inFlightGraceMs))
    } catch (err) {
      return { kind: 'unanswered', err }
    }
  }

  /** The row is `queued`: nothing was sent. */
  private async failedBeforePost (message: OutboxMessage, err: unknown, log: Logger): Promise<SendDecision> {
    return this.carryOut(message, decideBeforePost(err, Math.random()), err, null, log)
  }

  /** The row is `sending` as `attemptId`: only an answer that proves nothing was sent puts it back in line. */
  private async failedAfterPost (message: OutboxMessage, attemptId: string, step: Exclude<AfterPostStep, { kind: 'refresh_and_resend' }>, err: unknown, log: Logger): Promise<SendDecision> {
    switch (step.kind) {
      case 'sent_without_ids': {
        log.warn({ err }, 'HighLevel accepted the SMS but its answer could not be read; recorded as sent without ids')
        const stored = await this.deps.messages.markSent(message.id, attemptId, { messageId: null, conversationId: null })
        return this.recordedSent(message, { messageId: null, conversationId: null }, stored, log)
      }
      case 'nothing_sent':
        if (!await this.deps.messages.backToQueued(message.id, attemptId, { countAttempt: false })) return skipped
        return this.carryOut(message, step.then, err, null, log)
      case 'outcome_unknown': {
        log.warn({ err }, 'HighLevel\'s answer to the SMS was lost; asking HighLevel whether it took it before anything else')
        const row = await this.deps.messages.markOutcomeUnknown(message.id, attemptId, step.failure)
        if (!row) return skipped
        return this.settleAttempt(row, log)
      }
      default:
        return this.carryOut(message, step, err, attemptId, log)
    }
  }

  /** `attemptId` null: the row is `queued`; else it is `sending` as that attempt. */
  private async carryOut (message: OutboxMessage, step: NextStep, err: unknown, attemptId: string | null, log: Logger): Promise<SendDecision> {
    switch (step.kind) {
      case 'rethrow':
        throw err
      case 'defer':
        this.deps.metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'ghl_429' })
        return { kind: 'later', delayMs: step.delayMs, reason: 'rate_limited' }
      case 'fail':
        return this.fail(message, step.failure, { attemptId: attemptId ?? undefined, countAttempt: step.countAttempt }, log)
      case 'retry': {
        // The try is counted: in place while `queued`; from `sending` the row goes back to `queued` with it.
        const row = attemptId === null
          ? await this.deps.messages.recordAttempt(message.id, step.failure)
          : await this.deps.messages.backToQueued(message.id, attemptId, { countAttempt: true, failure: step.failure, retrying: true })
        if (!row) return skipped
        return this.retryOrFail(row, step, log)
      }
    }
  }

  private async retryOrFail (row: OutboxMessage, retry: { failure: OutboxFailure, atLeastMs: number }, log: Logger): Promise<SendDecision> {
    const next = afterCountedAttempt(row, retry, this.deps, Date.now(), Math.random())
    if (next.kind === 'fail') return this.fail(row, next.failure, { countAttempt: false }, log)
    const { code } = retry.failure
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'retried', code })
    log.warn({ attempts: row.attempts, retryInMs: next.delayMs, code }, 'sms attempt failed; retrying')
    return { kind: 'later', delayMs: next.delayMs, reason: 'retry' }
  }

  /** `attemptId` undefined: from `queued`; a string (or null for a row from before attempt ids): from `sending` as that attempt. */
  private async fail (message: OutboxMessage, failure: OutboxFailure, opts: { attemptId?: string | null, countAttempt: boolean }, log: Logger): Promise<SendDecision> {
    const row = await this.deps.messages.markFailed(message.id, failure, opts)
    if (!row) return skipped
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'failed', code: failure.code })
    log.warn({ code: failure.code, attempts: row.attempts }, 'sms failed')
    await this.settle(message, log)
    await this.deps.events.dispatch(smsEventIds.failed(message.id))
    return { kind: 'done', outcome: 'failed' }
  }

  private async settle (message: OutboxMessage, log: Logger): Promise<void> {
    await this.deps.dispatcher.settled(message.clientId).catch((err) => log.warn({ err }, 'could not update the client backlog'))
  }
}

function isAttempt (m: OutboxMessage): m is Attempt {
  return m.attemptId !== null && m.attemptStartedAt !== null && m.ghlContactId !== null
}

/** Our own share of the location's rate limit is spent: asking waits like a 429 would. */
function rateLimitedLocally (waitMs: number) {
  return new GhlError('rate_limited', 'the location\'s rate limit has no slot to ask HighLevel now', { operation: 'exportMessages', retryAfterMs: waitMs })
}
