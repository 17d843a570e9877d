/**
 * The machine routes' budget: a fixed window per API key (and, with the key of its own, per
 * client access token), counted in Redis so every api replica
 * shares it. It is spent only once the key is known good (api-key-auth), so a caller without a
 * valid key is refused 401 and spends nobody's budget, and the CRM's backend, which sends all its
 * users' requests from a few addresses, is never limited by address.
 *
 * Each replica takes the budget from Redis in shares (1% of it, at most 100 requests) and spends
 * a share locally, so a busy key costs one Redis round trip per share instead of one per request.
 * A share is counted in Redis when taken, so all replicas together never admit more than the
 * budget; what a replica took and did not spend before the window ended is simply not used (at
 * most one share per replica, refused early rather than admitted late). A budget under 100 has
 * shares of one request: every request is counted in Redis as it comes.
 */
import type { Redis } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'

export interface ApiKeyRateLimitOptions {
  max: number
  windowMs: number
  /** The Redis key counting one caller's window; default: the API key's (RedisKeys.apiKeyRateLimit). */
  redisKey?: (caller: string) => string
}
export interface ApiKeyBudget { allowed: boolean, max: number, remaining: number, retryAfterSeconds: number }

/** What this replica holds of a key's budget for the current window. */
interface Share { left: number, windowEndsAt: number, countedInRedis: number }

export class ApiKeyRateLimit {
  private readonly shares = new Map<string, Share>()
  /** One Redis call per key at a time: requests arriving while a share is taken wait for it. */
  private readonly taking = new Map<string, Promise<Share | null>>()
  private readonly shareSize: number
  private readonly redisKey: (caller: string) => string

  constructor (private readonly redis: Redis, keys: RedisKeys, private readonly opts: ApiKeyRateLimitOptions) {
    this.shareSize = Math.max(1, Math.min(100, Math.floor(opts.max / 100)))
    this.redisKey = opts.redisKey ?? ((name) => keys.apiKeyRateLimit(name))
  }

  /** Counts one request of this key; null when Redis does not answer (the request goes on: it is not the caller's fault). */
  async spend (keyName: string): Promise<ApiKeyBudget | null> {
    const { max } = this.opts
    for (;;) {
      let share = this.shares.get(keyName)
      if (!share || Date.now() >= share.windowEndsAt) share = await this.take(keyName) ?? undefined
      if (!share) return null
      const retryAfterSeconds = Math.max(1, Math.ceil((share.windowEndsAt - Date.now()) / 1000))
      if (share.left > 0) {
        share.left--
        return { allowed: true, max, remaining: Math.max(0, max - share.countedInRedis + share.left), retryAfterSeconds }
      }
      // The window's count in Redis has reached the budget: nobody gets more until it ends.
      if (share.countedInRedis >= max) return { allowed: false, max, remaining: 0, retryAfterSeconds }
      // This share is spent: take the next (unless a request waiting beside this one already did).
      if (this.shares.get(keyName) === share) this.shares.delete(keyName)
    }
  }

  private take (keyName: string): Promise<Share | null> {
    let pending = this.taking.get(keyName)
    if (!pending) {
      pending = this.takeShare(keyName).finally(() => this.taking.delete(keyName))
      this.taking.set(keyName, pending)
    }
    return pending
  }

  private async takeShare (keyName: string): Promise<Share | null> {
    const key = this.redisKey(keyName)
    const { max, windowMs } = this.opts
    try {
      // The window starts with the first request in it: SET NX PX opens it, INCRBY keeps its expiry.
      const replies = await this.redis.multi().set(key, 0, 'PX', windowMs, 'NX').incrby(key, this.shareSize).pttl(key).exec()
      const count = Number(replies?.[1]?.[1])
      const ttlMs = Number(replies?.[2]?.[1])
      if (!Number.isFinite(count)) return null
      // Of this share, only what is still under the budget may be spent.
      const left = Math.max(0, Math.min(this.shareSize, max - (count - this.shareSize)))
      const share = { left, windowEndsAt: Date.now() + (ttlMs > 0 ? ttlMs : windowMs), countedInRedis: Math.min(count, max) }
      this.shares.set(keyName, share)
      return share
    } catch {
      return null
    }
  }
}
