/**
 * One-time OAuth states in Redis, bound to the browser that started the flow. The state alone is
 * not enough (a leaked callback URL could be replayed elsewhere), so the browser also holds a
 * signed httpOnly cookie with a nonce whose hash the state keeps. The cookie never stands in for a
 * missing state: a stateless code is someone else's (login CSRF) or a marketplace install.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import { sameSecret } from '@ghl-connect/secrets'

export const STATE_TTL_SECONDS = 600
/**
 * Live states one client may hold. A signed link can be opened again and again within its
 * lifetime (up to 7 days), each time storing a state: past this many, the oldest are dropped (a
 * browser still holding one of those is told its link expired), so no link can fill Redis.
 */
export const MAX_PENDING_STATES_PER_CLIENT = 20

/** What started a connection: the client, where to return, and the signed link (absent for ALLOW_UNSIGNED_CONNECT ones). */
export interface ConnectStart {
  clientId: string
  returnUrl?: string
  /**
   * The link's id (a hash of its signature) and expiry (ms): it is spent when this flow connects,
   * and so is the /connect page link that minted it (`pageId`, that link's id), if one did.
   */
  link?: { id: string, expiresAt: number, pageId?: string }
}

export interface PendingConnect extends ConnectStart {
  nonceHash: string
  createdAt: number
}

const hash = (nonce: string) => createHash('sha256').update(nonce).digest('base64url')

export class OAuthStates {
  constructor (private readonly redis: Redis, private readonly keys: RedisKeys) {}

  /** Returns the state for HighLevel and the cookie value for the browser. */
  async begin (start: ConnectStart): Promise<{ state: string, cookie: string }> {
    const state = randomBytes(24).toString('base64url')
    const nonce = randomBytes(24).toString('base64url')
    const pending: PendingConnect = { ...start, nonceHash: hash(nonce), createdAt: Date.now() }
    const stateKey = this.keys.oauthState(state)
    const index = this.keys.pendingOAuthStates(start.clientId)
    const ttlMs = STATE_TTL_SECONDS * 1000
    // The state and the client's index are in different Redis Cluster slots, so they are written
    // one after the other, each atomically (a MULTI may only touch one slot). A state stored
    // whose index entry was not is still bounded: it expires with its TTL.
    await this.redis.set(stateKey, JSON.stringify(pending), 'EX', STATE_TTL_SECONDS)
    const replies = await this.redis.multi()
      .zadd(index, pending.createdAt, stateKey)
      .zremrangebyscore(index, '-inf', pending.createdAt - ttlMs)
      .pexpire(index, ttlMs)
      .zrange(index, 0, -(MAX_PENDING_STATES_PER_CLIENT + 1))
      .exec()
    const failed = replies?.find(([err]) => err)?.[0]
    if (!replies || failed) throw failed ?? new Error('Redis did not store the OAuth state')
    const oldest = replies[3]![1] as string[]
    if (oldest.length > 0) {
      await Promise.all(oldest.map((key) => this.redis.del(key)))
      await this.redis.zrem(index, ...oldest)
    }
    return { state, cookie: `${state}.${nonce}` }
  }

  /** Takes the state atomically: of two callbacks with one state, exactly one gets it. */
  async take (state: string): Promise<PendingConnect | null> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(state)) return null
    const raw = await this.redis.getdel(this.keys.oauthState(state))
    return raw ? JSON.parse(raw) as PendingConnect : null
  }

  static parseCookie (cookie: string | undefined): { state: string, nonce: string } | null {
    const [state, nonce, ...rest] = (cookie ?? '').split('.')
    return state && nonce && rest.length === 0 ? { state, nonce } : null
  }

  static cookieMatches (pending: PendingConnect, nonce: string): boolean {
    return sameSecret(hash(nonce), pending.nonceHash)
  }
}
