/**
 * The machine routes' budget: a fixed window per API key, counted in Redis so every api replica
 * shares it. It is spent only once the key is known good (api-key-auth), so a caller without a
 * valid key is refused 401 and spends nobody's budget, and the CRM's backend, which sends all its
 * users' requests from a few addresses, is never limited by address.
 */
import type { Redis } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'

export interface ApiKeyRateLimitOptions { max: number, windowMs: number }
export interface ApiKeyBudget { allowed: boolean, max: number, remaining: number, retryAfterSeconds: number }

export class ApiKeyRateLimit {
  constructor (private readonly redis: Redis, private readonly keys: RedisKeys, private readonly opts: ApiKeyRateLimitOptions) {}

  /** Counts one request of this key; null when Redis does not answer (the request goes on: it is not the caller's fault). */
  async spend (keyName: string): Promise<ApiKeyBudget | null> {
    const key = this.keys.apiKeyRateLimit(keyName)
    const { max, windowMs } = this.opts
    try {
      // The window starts with the first request in it: SET NX PX opens it, INCR keeps its expiry.
      const replies = await this.redis.multi().set(key, 0, 'PX', windowMs, 'NX').incr(key).pttl(key).exec()
      const count = Number(replies?.[1]?.[1])
      const ttlMs = Number(replies?.[2]?.[1])
      if (!Number.isFinite(count)) return null
      return { allowed: count <= max, max, remaining: Math.max(0, max - count), retryAfterSeconds: Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : windowMs) / 1000)) }
    } catch {
      return null
    }
  }
}
