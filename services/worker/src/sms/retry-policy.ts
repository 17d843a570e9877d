/**
 * How long an SMS waits before its next try, and when it stops trying. Pure: the time and the
 * jitter are passed in (a number in [0, 1), `Math.random()` in production), so the delays are
 * testable.
 *
 * The budget is time, not a count: 5xx and network failures are retried for `retryForMs` from
 * the first of them, whatever their number; a 429 never counts (it is a wait, not a try).
 */

export interface RetryPolicy {
  /** How long retryable failures are retried, from the first one; the message fails only after it. */
  retryForMs: number
  /** The first retry's step; each later one doubles it. */
  retryBaseMs: number
}

export const MAX_RETRY_DELAY_MS = 5 * 60_000

/** HighLevel's 429 without a Retry-After. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 10_000

/** What the budget is measured on: the first retryable failure (null: none yet). */
export interface RetryState { attempts: number, retryingSince: Date | null }

/** How much of the budget is left at `now` (all of it before the first failure). */
export function budgetLeftMs (state: RetryState, policy: RetryPolicy, now: number): number {
  if (!state.retryingSince) return policy.retryForMs
  return policy.retryForMs - (now - state.retryingSince.getTime())
}

/**
 * After the `attempts`-th counted try: exponential backoff with jitter (half to all of the step),
 * so retries of many messages spread out; never sooner than `atLeastMs` (a server's hint).
 */
export function retryDelay (attempts: number, policy: RetryPolicy, jitter: number, atLeastMs = 0): number {
  const step = Math.min(MAX_RETRY_DELAY_MS, policy.retryBaseMs * 2 ** Math.max(0, attempts - 1))
  return Math.max(atLeastMs, Math.round(step / 2 + jitter * step / 2))
}

/**
 * The next try after a counted failure, or null when the budget is spent. A backoff that would
 * overshoot the budget is cut to its end, so the last try happens when the budget runs out.
 */
export function nextRetry (state: RetryState, policy: RetryPolicy, now: number, jitter: number, atLeastMs = 0): number | null {
  const left = budgetLeftMs(state, policy, now)
  if (left <= 0) return null
  return Math.max(Math.min(retryDelay(state.attempts, policy, jitter), left), atLeastMs)
}

/** A 429: the interval HighLevel advertised plus 0-20%, so the waiting messages do not return at once. */
export function rateLimitDelay (retryAfterMs: number | undefined, jitter: number): number {
  const base = retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS
  return Math.round(base * (1 + jitter * 0.2))
}

/** "45 s", "12 min", "2 h": a duration in the unit a person reads it in. */
export function humanDuration (ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 3_600_000)} h`
}
