/**
 * Settles an attempt whose outcome nobody knows: a reset after the request was written, a
 * gateway's 502/504, a timeout, or a process that died while the row was `sending`. HighLevel has
 * no idempotency key, so the SMS is not sent again blindly: the answer kept in Redis settles it
 * when there is one; else, once the attempt can no longer be in flight, HighLevel is asked
 * (sent-check.ts) whether an outbound SMS with this text reached this contact since the attempt
 * began. Found: `sent` with HighLevel's ids. Not found once HighLevel has had time to list it: sent
 * again. HighLevel cannot be asked: asked again later, and only after SMS_VERIFY_FOR_SECONDS is it
 * reported `delivery_unknown`. The decisions are pure, in send-outcome.ts.
 */
import type { OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { GhlError, type GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { LocationRateLimiter } from '@ghl-connect/rate-limits'
import { withFreshToken, type Credentials, type TokenService } from '@ghl-connect/tokens'
import { skipped, type OutcomeRecorder, type SendDecision } from './outcome-recorder.ts'
import { decideVerification, verifyWait, type Verification, type VerifyPolicy } from './send-outcome.ts'
import { askWhetherSent } from './sent-check.ts'
import type { SentReceipts } from './sent-receipts.ts'

export interface UnknownOutcomeDeps extends VerifyPolicy {
  messages: SmsMessagesRepository
  receipts: SentReceipts
  credentials: Credentials
  tokens: Pick<TokenService, 'refreshNow'>
  ghl: GhlClient
  rateLimiter: LocationRateLimiter
  metrics?: Metrics
}

/** The attempt a `sending` row records. */
type Attempt = OutboxMessage & { attemptId: string, attemptStartedAt: Date, ghlContactId: string }

export class UnknownOutcomes {
  constructor (private readonly deps: UnknownOutcomeDeps, private readonly outcomes: OutcomeRecorder) {}

  /**
   * The row says an attempt was POSTing and nobody recorded how it ended: it still is (a stalled
   * job's twin), its answer was lost, or its process died. Settled from the answer kept in Redis,
   * or by asking HighLevel once the attempt can no longer be in flight.
   */
  async settle (message: OutboxMessage, log: Logger): Promise<SendDecision> {
    const { messages } = this.deps
    const outcomes = this.outcomes
    if (!isAttempt(message)) {
      // Left `sending` before attempts carried ids and contacts: nothing to ask HighLevel with.
      return outcomes.failed(message, {
        code: 'delivery_unknown',
        message: 'The worker stopped while GoHighLevel was sending this SMS, so whether it was delivered is unknown. It was not sent again to avoid a duplicate; check the conversation in GoHighLevel and send it again if needed.',
      }, { attemptId: null, countAttempt: true }, log)
    }
    const receipt = await this.deps.receipts.recall(message.id)
    if (receipt && receipt.attemptId === message.attemptId) {
      const stored = await messages.markSent(message.id, receipt.attemptId, receipt)
      await this.deps.receipts.forget(message.id)
      if (stored) log.info({ ghlMessageId: receipt.messageId }, 'sms sent earlier; recorded now that PostgreSQL takes it')
      return outcomes.sent(message, receipt, stored, log)
    }
    const wait = verifyWait(message, this.deps, Date.now())
    if (wait > 0) return { kind: 'later', delayMs: wait, reason: message.outcomeUnknownAt ? 'verify' : 'in_flight' }

    const answer = await this.askHighLevel(message)
    const step = decideVerification(answer, message, this.deps, Date.now(), Math.random())
    switch (step.kind) {
      case 'rethrow':
        throw (answer as { err: unknown }).err
      case 'sent': {
        const stored = await messages.markSent(message.id, message.attemptId, step.ids)
        if (stored) log.info({ ghlMessageId: step.ids.messageId }, 'the SMS whose outcome was unknown is in HighLevel: recorded as sent')
        return outcomes.sent(message, step.ids, stored, log)
      }
      case 'send_again': {
        log.warn({ unanswered: message.outcomeUnknownAt !== null }, 'HighLevel has no such SMS since the attempt began: nothing was sent, sending it again')
        this.deps.metrics?.smsOutcomes.inc({ outcome: 'verified_unsent', code: message.errorCode ?? 'worker_stopped' })
        // A POST that got no answer is a failed try against the retry budget; a process that died is not HighLevel's failure.
        const unanswered = message.outcomeUnknownAt !== null
        const failure = unanswered ? { code: message.errorCode ?? 'ghl_unavailable', message: message.errorMessage ?? 'GoHighLevel did not answer the SMS.' } : undefined
        const row = await messages.backToQueued(message.id, message.attemptId, { countAttempt: true, failure, retrying: unanswered })
        if (!row) return skipped
        if (!failure) return { kind: 'later', delayMs: 0, reason: 'retry' }
        return outcomes.retryOrFail(row, { failure, atLeastMs: 0 }, log)
      }
      case 'ask_later':
        log.warn({ askAgainInMs: step.delayMs, err: answer.kind === 'unanswered' ? answer.err : undefined }, 'whether HighLevel took the SMS is not known yet; asking again later')
        return { kind: 'later', delayMs: step.delayMs, reason: 'verify' }
      case 'fail':
        return outcomes.failed(message, step.failure, { attemptId: message.attemptId, countAttempt: true }, log)
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
}

function isAttempt (m: OutboxMessage): m is Attempt {
  return m.attemptId !== null && m.attemptStartedAt !== null && m.ghlContactId !== null
}

/** Our own share of the location's rate limit is spent: asking waits like a 429 would. */
function rateLimitedLocally (waitMs: number) {
  return new GhlError('rate_limited', 'the location\'s rate limit has no slot to ask HighLevel now', { operation: 'exportMessages', retryAfterMs: waitMs })
}
