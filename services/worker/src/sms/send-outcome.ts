/**
 * What an SMS attempt's failure means for the message: defer, retry, fail with a fix, or (after
 * the POST) record it as sent. Pure: no I/O; the jitter comes in as a number in [0, 1). SmsSender
 * carries the step out.
 *
 * Before the POST nothing can have been sent. After it, only an answer that proves nothing was
 * sent may put the message back in line; anything else leaves it `sending` for the reconciler.
 */
import type { OutboxFailure } from '@ghl-connect/db'
import { isAppError, NOT_CONNECTED_MESSAGE } from '@ghl-connect/errors'
import { isGhlError, type GhlError } from '@ghl-connect/ghl'
import { RecipientError } from './recipients.ts'
import { attemptsExhausted, rateLimitDelay, retryDelay, type RetryPolicy } from './retry-policy.ts'

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
  invalid_request: (err) => ({
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

/** A failure of the POST itself, the row being `sending`. */
export function decideAfterPost (err: unknown, jitter: number): AfterPostStep {
  if (isAppError(err)) {
    // The POST was refused (401) and the refresh after it failed: nothing was sent, so the
    // message goes back to `queued` and is judged like a failure before the POST.
    return { kind: 'nothing_sent', then: decideBeforePost(err, jitter) }
  }
  // Not HighLevel's answer (our own bug, or PostgreSQL down mid-job): leave the row `sending`
  // so the reconciler, not a blind retry, decides later.
  if (!isGhlError(err)) return { kind: 'rethrow' }
  if (err.acceptedUnreadable) return { kind: 'sent_without_ids' }
  if (err.kind === 'rate_limited') return { kind: 'nothing_sent', then: { kind: 'defer', delayMs: rateLimitDelay(err.retryAfterMs, jitter) } }
  const permanent = PERMANENT_FAILURES[err.kind]
  if (permanent) return fail(permanent(err), { countAttempt: true })
  return { kind: 'retry', failure: { code: 'ghl_unavailable', message: `GoHighLevel did not take the SMS: ${err.message}` }, atLeastMs: 0 }
}

/** Once a retryable try is counted (`attempts` in all): when to try again, or give up saying so. */
export function afterCountedAttempt (
  attempts: number, retry: { failure: OutboxFailure, atLeastMs: number }, policy: RetryPolicy, jitter: number,
): { kind: 'retry', delayMs: number } | { kind: 'fail', failure: OutboxFailure } {
  const { failure } = retry
  if (attemptsExhausted(attempts, policy)) {
    return { kind: 'fail', failure: { code: failure.code, message: `${failure.message} (gave up after ${attempts} attempts)` } }
  }
  return { kind: 'retry', delayMs: retryDelay(attempts, policy, jitter, retry.atLeastMs) }
}

function fail (failure: OutboxFailure, { countAttempt = false } = {}): NextStep {
  return { kind: 'fail', failure, countAttempt }
}
