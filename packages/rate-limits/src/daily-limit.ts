/**
 * HighLevel's daily budget per location (200,000 calls a day per app). Every answer carries
 * `X-RateLimit-Daily-Remaining`; when it says 0 (or a 429 does), the location is marked spent in
 * Redis until the reset, and the location limiter hands out no slot meanwhile: the worker's SMS
 * wait (still queued) and the proxy answers 429 `daily_limit_reached`.
 *
 * When the reset comes is undocumented: `Retry-After` when HighLevel sends one, else the next UTC
 * midnight (packages/ghl retryAfterMs). Only a spent budget costs a Redis write; a normal answer
 * costs nothing here.
 */
import type { Redis } from 'ioredis'
import { retryAfterMs, type RateLimit } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import type { RedisKeys } from '@ghl-connect/redis-keys'

export type AnswerHeaders = Record<string, string | string[] | undefined>

export class DailyLimit {
  constructor (
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  /** Reads one HighLevel answer for `locationId`. Never throws: a lost mark only means HighLevel answers 429 itself. */
  async observe (locationId: string, rateLimit: RateLimit | null, headers: AnswerHeaders): Promise<void> {
    if (rateLimit?.dailyRemaining !== 0) return
    const untilResetMs = Math.max(1000, retryAfterMs(headers, rateLimit))
    try {
      await this.redis.set(this.keys.locationDailySpent(locationId), String(Date.now() + untilResetMs), 'PX', untilResetMs)
      this.logger.warn({ locationId, resetInMs: untilResetMs }, 'HighLevel\'s daily budget of this location is spent: its calls wait for the reset')
    } catch (err) {
      this.logger.warn({ err, locationId }, 'could not record that the location\'s daily budget is spent')
    }
  }
}
