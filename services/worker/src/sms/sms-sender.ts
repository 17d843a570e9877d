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
import { setTimeout as sleep } from 'node:timers/promises'
import type { OutboxFailure, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { recipientOf, smsEventIds } from '@ghl-connect/db'
import type { GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { SmsDispatcher } from '@ghl-connect/queues'
import type { CrmEvents } from '@ghl-connect/runtime'
import { withFreshToken, type Credential, type Credentials, type TokenService } from '@ghl-connect/tokens'
import type { LocationRateLimiter } from '../rate-limits/location-rate-limiter.ts'
import { callsFor, resolveContactId, SearchPageDeferred } from './recipients.ts'
import { recordSent } from './record-sent.ts'
import type { RetryPolicy } from './retry-policy.ts'
import { afterCountedAttempt, decideAfterPost, decideBeforePost, type NextStep } from './send-outcome.ts'
import type { SentIds, SentReceipts } from './sent-receipts.ts'

export type SendDecision =
  | { kind: 'done', outcome: 'sent' | 'failed' | 'skipped' }
  /** Run the job again after `delayMs`; `reason` is for logs and metrics. */
  | { kind: 'later', delayMs: number, reason: 'rate_limited' | 'retry' | 'in_flight' }

export interface SmsSenderDeps extends RetryPolicy {
  messages: SmsMessagesRepository
  credentials: Credentials
  tokens: Pick<TokenService, 'refreshNow'>
  ghl: GhlClient
  rateLimiter: LocationRateLimiter
  receipts: SentReceipts
  dispatcher: SmsDispatcher
  /** `markSent` / `markFailed` record the outcome's event with it; this queues its delivery. */
  events: Pick<CrmEvents, 'dispatch'>
  logger: Logger
  metrics?: Metrics
  /** How long a live attempt may still be waiting for HighLevel's answer (the HTTP timeout and a margin). */
  inFlightGraceMs: number
}

const skipped: SendDecision = { kind: 'done', outcome: 'skipped' }
/** Longer than this, a job does not hold its worker slot waiting for a search page's rate-limit slot. */
const SEARCH_PAGE_MAX_WAIT_MS = 5_000

export class SmsSender {
  constructor (private readonly deps: SmsSenderDeps) {}

  async send (messageId: string): Promise<SendDecision> {
    const { messages, logger, ghl, metrics } = this.deps
    const message = await messages.findById(messageId)
    if (!message) {
      logger.warn({ messageId }, 'send job for a message that is not in the outbox; dropped')
      return skipped
    }
    const log = logger.child({ messageId, clientId: message.clientId })
    if (message.status === 'sent' || message.status === 'failed') return skipped
    if (message.status === 'sending') return this.interrupted(message, log)

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
    let contactId: string
    try {
      contactId = await withToken((token) => resolveContactId(ghl, metrics, token, to, beforePage))
    } catch (err) {
      if (err instanceof SearchPageDeferred) {
        metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'location_rate_limit' })
        return { kind: 'later', delayMs: err.delayMs, reason: 'rate_limited' }
      }
      return this.failedBeforePost(message, err, log)
    }

    // queued -> sending: only the attempt that wins this write POSTs.
    if (!await messages.markSending(message.id)) return skipped
    let sent: SentIds
    try {
      const { data } = await withToken((token) => timeGhlCall(metrics, 'sendSms',
        () => ghl.sendSms({ accessToken: token.accessToken, contactId, message: message.body })))
      sent = { messageId: data.messageId, conversationId: data.conversationId ?? null }
    } catch (err) {
      return this.failedAfterPost(message, err, log)
    }
    // sending -> sent
    await recordSent(messages, this.deps.receipts, message.id, sent, log)
    log.info({ ghlMessageId: sent.messageId, via: credential.kind }, 'sms sent')
    return this.recordedSent(message)
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

  /** `sms.sent` was recorded with the row; its id is deterministic, so queuing it again is harmless. */
  private async recordedSent (message: OutboxMessage): Promise<SendDecision> {
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'sent', code: '' })
    await this.settle(message)
    await this.deps.events.dispatch(smsEventIds.sent(message.id))
    return { kind: 'done', outcome: 'sent' }
  }

  /** The row says an attempt was POSTing: either it still is (a stalled job's twin), or it died. */
  private async interrupted (message: OutboxMessage, log: Logger): Promise<SendDecision> {
    const receipt = await this.deps.receipts.recall(message.id)
    if (receipt) {
      await this.deps.messages.markSent(message.id, receipt)
      await this.deps.receipts.forget(message.id)
      log.info({ ghlMessageId: receipt.messageId }, 'sms sent earlier; recorded now that PostgreSQL takes it')
      return this.recordedSent(message)
    }
    const age = Date.now() - message.updatedAt.getTime()
    if (age < this.deps.inFlightGraceMs) return { kind: 'later', delayMs: this.deps.inFlightGraceMs - age, reason: 'in_flight' }
    log.error('an attempt died while HighLevel was sending this SMS; it is not sent again, so it cannot arrive twice')
    return this.fail(message, {
      code: 'delivery_unknown',
      message: 'The worker stopped while GoHighLevel was sending this SMS, so whether it was delivered is unknown. It was not sent again to avoid a duplicate; check the conversation in GoHighLevel and send again if needed.',
    }, { countAttempt: true }, log)
  }

  /** The row is `queued`: nothing was sent. */
  private async failedBeforePost (message: OutboxMessage, err: unknown, log: Logger): Promise<SendDecision> {
    return this.carryOut(message, decideBeforePost(err, Math.random()), err, 'queued', log)
  }

  /** The row is `sending`: only an answer that proves nothing was sent puts it back in line. */
  private async failedAfterPost (message: OutboxMessage, err: unknown, log: Logger): Promise<SendDecision> {
    const step = decideAfterPost(err, Math.random())
    if (step.kind === 'sent_without_ids') {
      log.warn({ err }, 'HighLevel accepted the SMS but its answer could not be read; recorded as sent without ids')
      await this.deps.messages.markSent(message.id, { messageId: null, conversationId: null })
      return this.recordedSent(message)
    }
    if (step.kind === 'nothing_sent') {
      await this.deps.messages.backToQueued(message.id, { countAttempt: false })
      return this.carryOut(message, step.then, err, 'queued', log)
    }
    return this.carryOut(message, step, err, 'sending', log)
  }

  private async carryOut (message: OutboxMessage, step: NextStep, err: unknown, status: 'queued' | 'sending', log: Logger): Promise<SendDecision> {
    switch (step.kind) {
      case 'rethrow':
        throw err
      case 'defer':
        this.deps.metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'ghl_429' })
        return { kind: 'later', delayMs: step.delayMs, reason: 'rate_limited' }
      case 'fail':
        return this.fail(message, step.failure, { countAttempt: step.countAttempt }, log)
      case 'retry': {
        // The try is counted: in place while `queued`; from `sending` the row goes back to `queued` with it.
        const row = status === 'queued'
          ? await this.deps.messages.recordAttempt(message.id, step.failure)
          : await this.deps.messages.backToQueued(message.id, { countAttempt: true, failure: step.failure })
        return this.retryOrFail(row, step, log)
      }
    }
  }

  private async retryOrFail (row: OutboxMessage | null, retry: { failure: OutboxFailure, atLeastMs: number }, log: Logger): Promise<SendDecision> {
    if (!row) return skipped
    const next = afterCountedAttempt(row.attempts, retry, this.deps, Math.random())
    if (next.kind === 'fail') return this.fail(row, next.failure, { countAttempt: false }, log)
    const { code } = retry.failure
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'retried', code })
    log.warn({ attempts: row.attempts, retryInMs: next.delayMs, code }, 'sms attempt failed; retrying')
    return { kind: 'later', delayMs: next.delayMs, reason: 'retry' }
  }

  private async fail (message: OutboxMessage, failure: OutboxFailure, opts: { countAttempt: boolean }, log: Logger): Promise<SendDecision> {
    const row = await this.deps.messages.markFailed(message.id, failure, opts)
    if (!row) return skipped
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'failed', code: failure.code })
    log.warn({ code: failure.code, attempts: row.attempts }, 'sms failed')
    await this.settle(message)
    await this.deps.events.dispatch(smsEventIds.failed(message.id))
    return { kind: 'done', outcome: 'failed' }
  }

  private async settle (message: OutboxMessage): Promise<void> {
    await this.deps.dispatcher.settled(message.clientId).catch((err) => this.deps.logger.warn({ err }, 'could not update the client backlog'))
  }
}
