/**
 * The one refresh path. The api's manual refresh, the token endpoint for the CRM, the worker's
 * send and the sweep all come through here, so a tenant's single-use refresh token is spent by
 * exactly one process at a time:
 *   read -> fresh enough? use it -> lock -> re-read (a sibling may have refreshed) -> call
 *   HighLevel -> version-checked write -> release.
 */
import type { Redis } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import { sendingAccess, type Integration, type IntegrationsRepository, type SendingRefusal } from '@ghl-connect/db'
import { conflict, sendingRefused, unavailable } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import { RedisLock } from './lock.ts'

/** What HighLevel's token endpoint gives back, already converted to what we store. */
export interface RefreshedTokens {
  accessToken: string
  refreshToken?: string | null
  expiresAt: Date
  scopes?: string[]
}

/** The one call the refresh path makes to HighLevel, with its failures classified. */
export interface TokenEndpoint {
  refresh: (integration: Integration) => Promise<RefreshedTokens>
  /** invalid_grant: the refresh token is dead; location_inactive: temporary; anything else: transient. */
  classify: (err: unknown) => 'invalid_grant' | 'location_inactive' | 'transient'
}

/** `integrationId` and `tokenVersion` (the version the refresh read) make the CRM event's id. */
export type ConnectionEvent =
  | { type: 'connection.broken', integrationId: string, tokenVersion: number, clientId: string, locationId: string, reason: string }
  | { type: 'connection.recovered', integrationId: string, tokenVersion: number, clientId: string, locationId: string }

export type RefreshOutcome = 'refreshed' | 'reused' | 'invalid_grant' | 'location_inactive' | 'transient' | 'lock_timeout' | 'cooling_down'

export interface TokenServiceOptions {
  redis: Redis
  keys: RedisKeys
  integrations: IntegrationsRepository
  endpoint: TokenEndpoint
  logger: Logger
  /** Longer than the token call's HTTP timeout, so the lock never lapses mid-call. */
  lockTtlMs: number
  /** How long a caller waits for a sibling's refresh before giving up (then re-reads). */
  lockWaitMs?: number
  /** A manual refresh this soon after the last one reuses it instead of spending another token. */
  recentRefreshMs?: number
  onEvent?: (event: ConnectionEvent) => Promise<void> | void
  onOutcome?: (outcome: RefreshOutcome) => void
}

const BASE_COOLDOWN_MS = 15_000
const MAX_COOLDOWN_MS = 15 * 60_000

export class TokenService {
  private readonly lock: RedisLock
  private readonly lockWaitMs: number
  private readonly recentRefreshMs: number

  constructor (private readonly opts: TokenServiceOptions) {
    this.lock = new RedisLock(opts.redis)
    this.lockWaitMs = opts.lockWaitMs ?? opts.lockTtlMs + 1000
    this.recentRefreshMs = opts.recentRefreshMs ?? 10_000
  }

  /** The client's integration with an access token good for at least the refresh window. */
  async getFresh (clientId: string): Promise<Integration> {
    return this.fresh(await this.requireActive(clientId))
  }

  private async fresh (integration: Integration): Promise<Integration> {
    if (!this.opts.integrations.needsRefresh(integration)) return integration
    return this.refresh(integration)
  }

  /**
   * How the client sends now, by the one rule (`sendingAccess`): its own token, fresh, or the
   * legacy Private Integration Token when the fallback is on and the client never connected.
   * A client disconnected while its token was being refreshed is refused (not_connected), never
   * moved to the PIT.
   */
  async forSending (clientId: string, opts: { legacyPitFallback: boolean }): Promise<{ kind: 'oauth', integration: Integration } | { kind: 'legacy_pit' }> {
    const integration = await this.opts.integrations.findForSending(clientId)
    const access = sendingAccess(integration, opts)
    if (access.kind === 'refused') throw refusal(access.code, integration)
    if (access.kind === 'legacy_pit') return access
    return { kind: 'oauth', integration: await this.fresh(access.integration) }
  }

  /**
   * Refreshes now (the api's manual refresh, or the worker after HighLevel said the token expired).
   * `seen` is the integration the caller read: if the stored one moved on since, that is used.
   */
  async refreshNow (clientId: string, seen?: Integration): Promise<Integration> {
    const integration = seen ?? await this.requireActive(clientId)
    return this.refresh(integration, { force: true })
  }

  /** The client's integration if it may use its token now (`sendingAccess`, without the legacy fallback). */
  private async requireActive (clientId: string): Promise<Integration> {
    const integration = await this.opts.integrations.findByClient(clientId)
    const access = sendingAccess(integration, { legacyPitFallback: false })
    if (access.kind === 'refused') throw refusal(access.code, integration)
    return access.integration
  }

  private async refresh (seen: Integration, { force = false } = {}): Promise<Integration> {
    const { clientId } = seen
    const cooldownKey = this.opts.keys.refreshCooldown(clientId)
    const cooldownMs = await this.opts.redis.pttl(cooldownKey)
    if (cooldownMs > 0) {
      this.opts.onOutcome?.('cooling_down')
      if (!this.opts.integrations.isExpired(seen) && !force) return seen
      throw coolingDown(seen, cooldownMs)
    }

    const lease = await this.lock.acquire(this.opts.keys.refreshLock(clientId), this.opts.lockTtlMs, this.lockWaitMs)
    if (!lease) {
      // The holder is slow or died holding it; whatever it managed to write is what we can use.
      this.opts.onOutcome?.('lock_timeout')
      const current = await this.requireActive(clientId)
      if (!this.opts.integrations.isExpired(current)) return current
      throw unavailable('refresh_busy', 'The GoHighLevel token is being refreshed by another process; retry in a few seconds.', 5)
    }
    try {
      const current = await this.requireActive(clientId)
      if (current.id !== seen.id || current.tokenVersion !== seen.tokenVersion) {
        this.opts.onOutcome?.('reused')
        return current
      }
      const justRefreshed = current.lastRefreshedAt && Date.now() - current.lastRefreshedAt.getTime() < this.recentRefreshMs
      if ((!force && !this.opts.integrations.needsRefresh(current)) || (force && justRefreshed)) {
        this.opts.onOutcome?.('reused')
        return current
      }
      return await this.callAndStore(current, cooldownKey)
    } finally {
      await lease.release().catch((err) => this.opts.logger.warn({ err, clientId }, 'could not release the refresh lock'))
    }
  }

  private async callAndStore (current: Integration, cooldownKey: string): Promise<Integration> {
    const { integrations, endpoint, logger } = this.opts
    const log = logger.child({ clientId: current.clientId, locationId: current.locationId })
    let tokens: RefreshedTokens
    try {
      tokens = await endpoint.refresh(current)
    } catch (err) {
      const kind = endpoint.classify(err)
      const reason = (err as Error).message
      // A sibling whose lock lapsed may have spent the token and written the new pair meanwhile.
      const latest = await integrations.findById(current.id)
      if (latest && latest.isActive && latest.tokenVersion !== current.tokenVersion) {
        this.opts.onOutcome?.('reused')
        return latest
      }
      this.opts.onOutcome?.(kind)
      if (kind === 'invalid_grant') {
        await integrations.recordRefreshFailure(current.id, current.tokenVersion, { status: 'needs_reauth', error: reason })
        log.warn({ err }, 'refresh token rejected; the client must reconnect')
        await this.emit({ type: 'connection.broken', ...subject(current), reason: 'needs_reauth' })
        throw reauthError(current)
      }
      const wait = Math.min(MAX_COOLDOWN_MS, BASE_COOLDOWN_MS * 2 ** Math.min(current.refreshFailures, 6))
      await this.opts.redis.set(cooldownKey, kind, 'PX', wait)
      if (kind === 'location_inactive') {
        // HighLevel keeps the refresh token valid while the location is paused: keep it, back off.
        await integrations.recordRefreshFailure(current.id, current.tokenVersion, { status: 'location_inactive', error: reason })
        log.warn({ retryInMs: wait }, 'location is not active; keeping the token and backing off')
        if (current.status === 'active') {
          await this.emit({ type: 'connection.broken', ...subject(current), reason: 'location_inactive' })
        }
        throw conflict('location_inactive', 'The GoHighLevel location is not active (its subscription may be paused); the connection resumes when it is reactivated.',
          { retryAfterSeconds: Math.ceil(wait / 1000) })
      }
      await integrations.recordRefreshFailure(current.id, current.tokenVersion, { error: reason })
      log.warn({ err, retryInMs: wait }, 'token refresh failed; cooling down')
      if (!integrations.isExpired(current)) return current
      throw coolingDown(current, wait)
    }

    const won = await integrations.writeTokens(current.id, current.tokenVersion, tokens)
    if (!won) {
      // Only a disconnect or a replacement can get here while we hold the lock.
      log.warn('refreshed tokens were not stored: the integration changed meanwhile')
      return this.requireActive(current.clientId)
    }
    this.opts.onOutcome?.('refreshed')
    log.info({ expiresAt: tokens.expiresAt.toISOString() }, 'token refreshed')
    if (current.status !== 'active') {
      await this.emit({ type: 'connection.recovered', ...subject(current) })
    }
    return (await integrations.findById(current.id))!
  }

  private async emit (event: ConnectionEvent): Promise<void> {
    try {
      await this.opts.onEvent?.(event)
    } catch (err) {
      this.opts.logger.warn({ err, event: event.type }, 'could not record the connection event')
    }
  }
}

const subject = (i: Integration) => ({ integrationId: i.id, tokenVersion: i.tokenVersion, clientId: i.clientId, locationId: i.locationId })

function refusal (code: SendingRefusal, i: Integration | null) {
  return code === 'needs_reauth' && i ? reauthError(i) : sendingRefused(code)
}

function reauthError (i: Integration) {
  return sendingRefused('needs_reauth', { locationId: i.locationId })
}

function coolingDown (i: Integration, ms: number) {
  return unavailable('refresh_unavailable', 'GoHighLevel did not refresh the token just now; it is retried automatically, try again shortly.',
    Math.max(1, Math.ceil(ms / 1000)))
}
