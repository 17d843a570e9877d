/**
 * The client's own retries, as Stripe's SDKs make them: a call that got no answer (a reset, a
 * timeout) or a 5xx is tried again, up to `maxRetries` times, after a growing pause or the
 * api's Retry-After. A POST is only retried carrying the same idempotency key as its first try,
 * so the api answers the first message again instead of queuing a second one.
 */
import { GhlConnectError } from './errors.ts'

export interface RetryPolicy {
  /** Tries after the first; 0 turns retries off. */
  maxRetries: number
  /** The first pause; each next one doubles (with jitter), up to MAX_PAUSE_MS. */
  firstPauseMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 2, firstPauseMs: 500 }

const MAX_PAUSE_MS = 5_000

/** No answer at all, or the api (or a proxy before it) failed: the same call may succeed. */
const worthRetrying = (err: unknown): err is GhlConnectError => err instanceof GhlConnectError && (err.status === 0 || err.status >= 500)

function pauseBefore (retry: number, err: GhlConnectError, policy: RetryPolicy): number | null {
  if (err.retryAfterSeconds !== null) {
    // A wait longer than our longest pause is the api saying "not now": tell the caller instead.
    return err.retryAfterSeconds * 1000 <= MAX_PAUSE_MS ? err.retryAfterSeconds * 1000 : null
  }
  const full = Math.min(MAX_PAUSE_MS, policy.firstPauseMs * 2 ** retry)
  return full / 2 + Math.random() * full / 2
}

export async function withRetries<T> (policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await call()
    } catch (err) {
      if (retry >= policy.maxRetries || !worthRetrying(err)) throw err
      const pause = pauseBefore(retry, err, policy)
      if (pause === null) throw err
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
}
