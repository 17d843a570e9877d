/**
 * What an SMS attempt's failure means for the message: defer, retry, fail with a fix, record it
 * as sent, or ask HighLevel what happened. Pure: no I/O; the time and the jitter (a number in
 * [0, 1)) come in as numbers. SmsSender and UnknownOutcomes (unknown-outcome.ts) carry the step out.
 *
 * Before the POST nothing can have been sent. After it, only an answer that proves nothing was
 * sent may put the message back in line; an answer that leaves it open (a reset after the request
 * was written, a gateway's 502/504, a timeout) is settled by asking HighLevel whether an outbound
 * SMS with this text reached this contact after the attempt began (`decideVerification`).
 */
import type { OutboxFailure } from '@ghl-connect/db'
import { isAppError, NOT_CONNECTED_MESSAGE } from '@ghl-connect/errors'
import { isGhlError, type GhlError } from '@ghl-connect/ghl'
import { CONTACT_DND } from './contact-dnd.ts'
import { RecipientError } from './recipients.ts'
import { senderNumberRefused } from './sender-number.ts'
import { humanDuration, nextRetry, rateLimitDelay, type RetryPolicy, type RetryState } from './retry-policy.ts'

export type NextStep =
  /** Rate limited: run again after `delayMs`; waiting is not an attempt. */
  | { kind: 'defer', delayMs: number }
  /** Failed for good: `failure` says what a person must fix. `countAttempt` when HighLevel answered the POST. */
  | { kind: 'fail', failure: OutboxFailure, countAttempt: boolean }
  /** A try that may pass later: it is counted, then `afterCountedAttempt` says when (or gives up). */
  | { kind: 'retry', failure: OutboxFailure, atLeastMs: number }
  /** Not an answer this can judge (our own bug, PostgreSQL down): rethrow and change nothing. */
  | { kind: 'rethrow' }

export type AfterPostStep =
  | NextStep
  /** HighLevel took it (2xx) but its answer was unreadable: record it as sent without ids, never send it again. */
  | { kind: 'sent_without_ids' }
  /** The answer proves nothing was sent: back to `queued` without counting, then `then`. */
  | { kind: 'nothing_sent', then: NextStep }
  /**
   * 401, the access token expired: nothing was sent. Back to `queued` (uncounted) while the token
   * is refreshed, so no attempt holds `sending` waiting for the refresh lock; then a new attempt.
   */
  | { kind: 'refresh_and_resend' }
  /** Nobody knows whether HighLevel took it: the row stays `sending` until HighLevel is asked. */
  | { kind: 'outcome_unknown', failure: OutboxFailure }

/** HighLevel's refusals that no retry can fix, with the fix a person must make. */
export const PERMANENT_FAILURES: Partial<Record<GhlError['kind'], (err: GhlError) => OutboxFailure>> = {
  scope_missing: () => ({
    code: 'scope_missing',
    message: 'GoHighLevel refused: the connection lacks the conversations/message.write scope. Add it to the app\'s scopes (GHL_SCOPES), then have the client reconnect GoHighLevel from settings.',
  }),
  forbidden: () => ({
    code: 'forbidden',
    message: 'GoHighLevel refused: the connected sub-account has no access to this contact\'s location. Reconnect GoHighLevel choosing the sub-account the contact belongs to.',
  }),
  invalid_request: (err) => senderNumberRefused(err) ?? ({
    code: 'invalid_request',
    message: `GoHighLevel refused the message: ${err.messages.join('; ')}. Fix the recipient or the text and send it again.`,
  }),
  token_expired: () => ({
    code: 'token_rejected',
    message: 'GoHighLevel rejected the access token even after a refresh; reconnect GoHighLevel from settings.',
  }),
}

/** A failure while getting the token or the recipient, before anything was POSTed. */
export function decideBeforePost (err: unknown, jitter: number): NextStep {
  if (err instanceof RecipientError) return fail({ code: err.code, message: err.message })
  if (isAppError(err)) {
    if (err.code === 'not_connected') return fail({ code: 'not_connected', message: NOT_CONNECTED_MESSAGE })
    if (err.code === 'needs_reauth') return fail({ code: 'needs_reauth', message: err.message })
    // location_inactive, refresh_unavailable, refresh_busy: the token may come back; retry, counted.
    return { kind: 'retry', failure: { code: err.code, message: err.message }, atLeastMs: (err.details?.retryAfterSeconds ?? 0) * 1000 }
  }
  if (isGhlError(err)) {
    if (err.kind === 'rate_limited') return { kind: 'defer', delayMs: rateLimitDelay(err.retryAfterMs, jitter) }
    const permanent = PERMANENT_FAILURES[err.kind]
    if (permanent) return fail(permanent(err))
    return { kind: 'retry', failure: { code: `ghl_${err.kind}`, message: `GoHighLevel did not answer the contact lookup: ${err.message}` }, atLeastMs: 0 }
  }
  return { kind: 'rethrow' }
}

/** A failure of the POST itself, the row being `sending`. `canRefresh`: an OAuth token not refreshed yet by this attempt. */
export function decideAfterPost (err: unknown, jitter: number, { canRefresh = false }: { canRefresh?: boolean } = {}): AfterPostStep {
  // Not HighLevel's answer (our own bug, or PostgreSQL down mid-job): leave the row `sending`
  // so the reconciler, not a blind retry, decides later (by asking HighLevel).
  if (!isGhlError(err)) return { kind: 'rethrow' }
  if (err.acceptedUnreadable) return { kind: 'sent_without_ids' }
  if (err.outcomeUnknown) {
    return { kind: 'outcome_unknown', failure: { code: 'ghl_unavailable', message: `GoHighLevel did not answer the SMS: ${err.message}` } }
  }
  if (err.kind === 'token_expired' && canRefresh) return { kind: 'refresh_and_resend' }
  if (err.kind === 'rate_limited') return { kind: 'nothing_sent', then: { kind: 'defer', delayMs: rateLimitDelay(err.retryAfterMs, jitter) } }
  // HighLevel sends nothing to an opted-out contact: like our own check, no attempt is spent.
  if (refusedForDnd(err)) return fail(CONTACT_DND)
  const permanent = PERMANENT_FAILURES[err.kind]
  if (permanent) return fail(permanent(err), { countAttempt: true })
  return { kind: 'retry', failure: { code: 'ghl_unavailable', message: `GoHighLevel did not take the SMS: ${err.message}` }, atLeastMs: 0 }
}

/**
 * Once a retryable try is counted (`attempts` in all, the budget running since `retryingSince`):
 * when to try again, or give up saying so.
 */
export function afterCountedAttempt (
  state: RetryState, retry: { failure: OutboxFailure, atLeastMs: number }, policy: RetryPolicy, now: number, jitter: number,
): { kind: 'retry', delayMs: number } | { kind: 'fail', failure: OutboxFailure } {
  const { failure } = retry
  const delayMs = nextRetry(state, policy, now, jitter, retry.atLeastMs)
  if (delayMs === null) {
    return { kind: 'fail', failure: { code: failure.code, message: `${failure.message} (gave up after retrying for ${humanDuration(policy.retryForMs)}, ${state.attempts} attempts)` } }
  }
  return { kind: 'retry', delayMs }
}

/** When an attempt whose outcome is unknown may be judged. */
export interface VerifyPolicy {
  /** How long a live attempt may still be waiting for HighLevel's answer (the HTTP timeout and a margin). */
  inFlightGraceMs: number
  /** How long HighLevel gets to list an SMS it took before "not found" means it was not sent. */
  settleMs: number
  /** How long HighLevel is asked, from the attempt's start, before the SMS is reported delivery_unknown. */
  verifyForMs: number
}

/** The attempt as the row records it. */
export interface AttemptTimes { attemptStartedAt: Date, outcomeUnknownAt: Date | null }

/**
 * The attempt is over when its POST ended without an answer, or, when nobody saw it end (the
 * process died), once a live POST would have timed out.
 */
export const attemptEndedAt = (a: AttemptTimes, policy: VerifyPolicy): number =>
  a.outcomeUnknownAt?.getTime() ?? a.attemptStartedAt.getTime() + policy.inFlightGraceMs

/** How long to wait before asking HighLevel about the attempt (0: ask now). A live POST is never second-guessed. */
export function verifyWait (a: AttemptTimes, policy: VerifyPolicy, now: number): number {
  return Math.max(0, attemptEndedAt(a, policy) - now)
}

/** What HighLevel's export said about the attempt. */
export type Verification =
  | { kind: 'found', ids: { messageId: string, conversationId: string | null } }
  | { kind: 'not_found' }
  /** No answer to judge by: HighLevel unreachable, refused, or the question ambiguous for now. */
  | { kind: 'unanswered', err: unknown }

export type VerifyStep =
  /** HighLevel has it: record it as sent with HighLevel's ids. */
  | { kind: 'sent', ids: { messageId: string, conversationId: string | null } }
  /** HighLevel had time to list it and does not: nothing was sent, the message goes back in line. */
  | { kind: 'send_again' }
  /** Ask again after `delayMs`. */
  | { kind: 'ask_later', delayMs: number }
  /** Nobody can tell: delivery_unknown, saying why and what to do. */
  | { kind: 'fail', failure: OutboxFailure }
  | { kind: 'rethrow' }

const UNKNOWN_TAIL = 'It was not sent again to avoid a duplicate; check the conversation in GoHighLevel and send it again if needed.'

export const READ_SCOPE_MISSING: OutboxFailure = {
  code: 'delivery_unknown',
  message: 'Whether GoHighLevel sent this SMS is unknown: the send got no answer, and the connection lacks the conversations/message.readonly scope needed to ask GoHighLevel. Add it to the app\'s scopes (GHL_SCOPES) and have the client reconnect GoHighLevel from settings. ' + UNKNOWN_TAIL,
}

export function decideVerification (answer: Verification, a: AttemptTimes, policy: VerifyPolicy, now: number, jitter: number): VerifyStep {
  if (answer.kind === 'found') return { kind: 'sent', ids: answer.ids }
  if (answer.kind === 'not_found') {
    const settledAt = attemptEndedAt(a, policy) + policy.settleMs
    return now >= settledAt ? { kind: 'send_again' } : { kind: 'ask_later', delayMs: settledAt - now }
  }
  const { err } = answer
  if (isGhlError(err) && err.kind === 'scope_missing') return { kind: 'fail', failure: READ_SCOPE_MISSING }
  if (!isGhlError(err) && !isAppError(err) && !(err instanceof VerificationPending)) return { kind: 'rethrow' }
  const asking = now - a.attemptStartedAt.getTime()
  const left = policy.verifyForMs - asking
  if (left <= 0) {
    return {
      kind: 'fail',
      failure: { code: 'delivery_unknown', message: `Whether GoHighLevel sent this SMS is unknown: the send got no answer, and GoHighLevel could not be asked for ${humanDuration(policy.verifyForMs)}. ${UNKNOWN_TAIL}` },
    }
  }
  if (isGhlError(err) && err.kind === 'rate_limited') return { kind: 'ask_later', delayMs: Math.min(left, rateLimitDelay(err.retryAfterMs, jitter)) }
  // A twin being settled takes a moment: ask again soon.
  if (err instanceof VerificationPending) return { kind: 'ask_later', delayMs: Math.max(1, Math.min(left, Math.round(500 + jitter * 500))) }
  // Back off with the time spent asking (a quarter of it, 1 s to 5 min), never past the deadline: the last question comes at it.
  const step = Math.min(5 * 60_000, Math.max(1000, asking / 4))
  return { kind: 'ask_later', delayMs: Math.max(1, Math.min(left, Math.round(step / 2 + jitter * step / 2))) }
}

/** The question cannot be answered yet (another message with the same text to the same contact is being sent). */
export class VerificationPending extends Error {
  override name = 'VerificationPending'
}

/**
 * HighLevel's refusal of a send to a contact with do-not-disturb. Its specs and docs give no
 * wording or status for it (the send documents only 400 and 401): any 4xx refusal naming DND
 * or "do not disturb" is taken as one.
 */
export const refusedForDnd = (err: GhlError) => err.kind === 'invalid_request' && err.messages.some((m) => /\bDND\b|do[ -]not[ -]disturb/i.test(m))

function fail (failure: OutboxFailure, { countAttempt = false } = {}): NextStep {
  return { kind: 'fail', failure, countAttempt }
}
