/**
 * How long an SMS waits before its next try. Pure: the jitter is passed in (a number in [0, 1),
 * `Math.random()` in production), so the delays are testable.
 */

export interface RetryPolicy {
  /** Counted attempts after which the message fails for good. */
  maxAttempts: number
  /** The first retry's step; each later one doubles it. */
  retryBaseMs: number
}

export const MAX_RETRY_DELAY_MS = 5 * 60_000

/** HighLevel's 429 without a Retry-After. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 10_000

export const attemptsExhausted = (attempts: number, policy: RetryPolicy) => attempts >= policy.maxAttempts

/**
 * After the `attempts`-th counted try: exponential backoff with jitter (half to all of the step),
 * so retries of many messages spread out; never sooner than `atLeastMs` (a server's hint).
 */
export function retryDelay (attempts: number, policy: RetryPolicy, jitter: number, atLeastMs = 0): number {
  const step = Math.min(MAX_RETRY_DELAY_MS, policy.retryBaseMs * 2 ** (attempts - 1))
  return Math.max(atLeastMs, Math.round(step / 2 + jitter * step / 2))
}

/** A 429: the interval HighLevel advertised plus 0-20%, so the waiting messages do not return at once. */
export function rateLimitDelay (retryAfterMs: number | undefined, jitter: number): number {
  const base = retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS
  return Math.round(base * (1 + jitter * 0.2))
}
