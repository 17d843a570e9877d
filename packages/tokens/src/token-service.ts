/**
 * The one refresh path. The api's manual refresh, the token endpoint for the CRM, the worker's
 * send and the sweep all come through here, so a tenant's single-use refresh token is spent by
 * exactly one process at a time, and HighLevel's answer is never lost:
 *   read -> fresh enough? use it -> lock (Redis: the queue) -> re-read (a sibling may have
 *   refreshed) -> apply a kept answer if one is waiting -> fence (PostgreSQL: the guarantee) ->
 *   call HighLevel -> keep the answer -> version-checked write, retried -> forget the kept answer.
 */
import type { Redis } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import {
  sendingAccess, type Integration, type IntegrationsRepository, type SendingRefusal,
  type TokenRefreshAnswersRepository, type TokenRefreshLeasesRepository,
} from '@ghl-connect/db'
import { conflict, isAppError, sendingRefused, tooManyRequests, unavailable } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import { KEEP_BUDGET_MS, KeptAnswers, type KeptIn } from './kept-answers.ts'
import { RedisLock } from './lock.ts'
import { RefreshFence } from './refresh-fence.ts'

/** What HighLevel's token endpoint gives back, already converted to what we store. */
export interface RefreshedTokens {
  accessToken: string
  refreshToken?: string | null
  expiresAt: Date
  scopes?: string[]
}

/** The one call the refresh path makes to HighLevel, with its failures classified. */
export interface TokenEndpoint {
  /** `timeoutMs`: the call must end by then (the refresh fence's lease is cut to it). */
  refresh: (integration: Integration, opts: { timeoutMs: number }) => Promise<RefreshedTokens>
  /**
   * An agency's token mints a token for one of its locations (HighLevel gives no refresh token
   * with it: the location is renewed by minting again). Spends nothing single-use.
   */
  mintLocationToken: (agency: Integration, locationId: string) => Promise<RefreshedTokens>
  /** invalid_grant: the refresh token is dead; location_inactive: temporary; anything else: transient. */
  classify: (err: unknown) => 'invalid_grant' | 'location_inactive' | 'transient'
}

/** `integrationId` and `tokenVersion` (the version the refresh read) make the CRM event's id. */
export type ConnectionEvent =
  | { type: 'connection.broken', integrationId: string, tokenVersion: number, clientId: string, locationId: string, reason: string }
  | { type: 'connection.recovered', integrationId: string, tokenVersion: number, clientId: string, locationId: string }
  /** Refreshes failing since `failingSince` (at least `expiringAfterMs`), the access token still good until `expiresAt`. */
  | { type: 'connection.expiring', integrationId: string, tokenVersion: number, clientId: string, locationId: string, failingSince: Date, expiresAt: Date }
  /** An agency's refresh token was refused; `locations` live on its token (minted), `more` when the list was cut. */
  | { type: 'agency.broken', integrationId: string, tokenVersion: number, companyId: string, reason: string,
      locations: Array<{ clientId: string, locationId: string }>, more: boolean }

/**
 * recovered: a kept answer was applied, or a location whose refresh token died was renewed
 * through its agency; minted: a location token renewed through its agency; kept: HighLevel
 * answered but the write did not land (the answer waits, kept).
 */
export type RefreshOutcome = 'refreshed' | 'reused' | 'recovered' | 'minted' | 'kept' | 'invalid_grant' | 'location_inactive' | 'transient' | 'lock_timeout' | 'cooling_down'

export interface TokenServiceOptions {
  redis: Redis
  keys: RedisKeys
  integrations: IntegrationsRepository
  /** Where HighLevel's answers are kept until written, and the fence's leases (both PostgreSQL). */
  refreshAnswers: TokenRefreshAnswersRepository
  refreshLeases: TokenRefreshLeasesRepository
  endpoint: TokenEndpoint
  logger: Logger
  /** How long the token call waits for HighLevel (TOKEN_CALL_TIMEOUT_MS); the lease and the lock are sized from it. */
  callTimeoutMs: number
  /** How long a caller waits for a sibling's refresh before giving up (then re-reads). */
  lockWaitMs?: number
  /** A manual refresh this soon after the last one reuses it instead of spending another token. */
  recentRefreshMs?: number
  /** How long the write of HighLevel's answer is retried before the caller is told to retry (the answer stays kept). */
  storeRetryMs?: number
  onEvent?: (event: ConnectionEvent) => Promise<void> | void
  onOutcome?: (outcome: RefreshOutcome) => void
  /**
   * Resolves when a call with the company's (agency) token may leave: HighLevel limits each
   * company like each location (100 per 10 s), so an agency minting 500 sub-accounts is paced
   * here instead of collecting 429s. With `maxWaitMs`, false when the slot is further off (nothing
   * taken). Absent: no pacing.
   */
  paceCompany?: (companyId: string, opts?: { maxWaitMs?: number }) => Promise<boolean>
  /** How long a client's refreshes fail, its access token still good, before the CRM hears `connection.expiring` (default an hour). */
  expiringAfterMs?: number
}

/** The most sub-accounts an `agency.broken` event lists (`more` says there were others). */
export const AGENCY_BROKEN_LOCATIONS = 1000
/** How long a second minter of one location waits for the first (a mint is one paced HighLevel call). */
const MINT_LOCK_MS = 5 * 60_000

const BASE_COOLDOWN_MS = 15_000
const MAX_COOLDOWN_MS = 15 * 60_000
/** Covers the lease statement's round trip and timer slack. */
const LEASE_MARGIN_MS = 1000
/** The Redis lock outlives the lease, so callers normally queue on Redis, not by polling PostgreSQL. */
const LOCK_BEYOND_LEASE_MS = 2000
/** Less than this left of the lease is not worth spending a refresh token on. */
const MIN_CALL_MS = 1000
const MAX_STORE_BACKOFF_MS = 2000

export class TokenService {
  private readonly lock: RedisLock
  private readonly fence: RefreshFence
  private readonly kept: KeptAnswers
  private readonly lockTtlMs: number
  private readonly lockWaitMs: number
  private readonly recentRefreshMs: number
  private readonly storeRetryMs: number
  private readonly expiringAfterMs: number

  constructor (private readonly opts: TokenServiceOptions) {
    this.lock = new RedisLock(opts.redis)
    this.fence = new RefreshFence(opts.refreshLeases, { callTimeoutMs: opts.callTimeoutMs, keepBudgetMs: KEEP_BUDGET_MS, marginMs: LEASE_MARGIN_MS }, opts.logger)
    this.kept = new KeptAnswers(opts.refreshAnswers, opts.redis, opts.keys, opts.logger)
    this.lockTtlMs = this.fence.leaseMs + LOCK_BEYOND_LEASE_MS
    this.lockWaitMs = opts.lockWaitMs ?? this.lockTtlMs + 1000
    this.recentRefreshMs = opts.recentRefreshMs ?? 10_000
    this.storeRetryMs = opts.storeRetryMs ?? 10_000
    this.expiringAfterMs = opts.expiringAfterMs ?? 3600_000
  }

  /** The client's integration with an access token good for at least the refresh window. */
  async getFresh (clientId: string): Promise<Integration> {
    return this.fresh(await this.requireActive(clientId))
  }

  /** The company's agency connection with a fresh token, or null when we hold none (or it is broken). */
  async getFreshAgency (companyId: string): Promise<Integration | null> {
    const agency = await this.opts.integrations.findAgency(companyId)
    if (!agency || agency.status === 'needs_reauth') return null
    return this.fresh(agency)
  }

  /**
   * Renews an agency connection's refresh token now, whether or not its access token is due (the
   * sweep, for an agency unused for AGENCY_REFRESH_DAYS: HighLevel's refresh token dies after a
   * year unused, and every location minted from it with it). `seen` is the connection as the
   * caller read it: one renewed meanwhile is used as it is (the version moved on).
   */
  async refreshAgency (seen: Integration): Promise<Integration> {
    if (seen.userType !== 'Company') throw new Error('refreshAgency renews agency (Company) connections only')
    return this.refresh(seen, { force: true })
  }

  /**
   * Waits for a slot of the company's HighLevel budget (every call made with an agency token
   * takes one: listing installed locations, minting). With `maxWaitMs`, a slot further off than
   * that is refused (429 `company_rate_limited`) instead of waited for.
   */
  async paceCompany (companyId: string, { maxWaitMs = 0 }: { maxWaitMs?: number } = {}): Promise<void> {
    if (await this.opts.paceCompany?.(companyId, { maxWaitMs }) === false) throw companyBusy(maxWaitMs)
  }

  /**
   * Mints a location's token with its agency's token, once however many callers race for it (the
   * callback's bulk install and HighLevel's INSTALL webhooks for the same sub-accounts): under a
   * per-location lock, `held` is asked first and what it returns is used instead of minting; else
   * the company's budget is waited for (at most `maxWaitMs` when given), the token minted and
   * `keep` stores it. Minting spends
   * nothing single-use, so a lock that lapses costs at most a second mint, never a connection.
   */
  async mintOnce<T> (agency: Integration, locationId: string,
    steps: { held: () => Promise<T | null>, keep: (tokens: RefreshedTokens) => Promise<T>, maxWaitMs?: number }): Promise<T> {
    // `maxWaitMs` bounds the whole wait: for the lock (a sibling minting it), then for the budget.
    const deadline = steps.maxWaitMs ? Date.now() + steps.maxWaitMs : null
    const lease = await this.lock.acquire(this.opts.keys.mintLock(locationId), MINT_LOCK_MS, steps.maxWaitMs ?? MINT_LOCK_MS + 5000)
    if (!lease) throw deadline ? companyBusy(steps.maxWaitMs!) : refreshBusy()
    try {
      const held = await steps.held()
      if (held !== null) return held
      await this.paceCompany(agency.companyId!, { maxWaitMs: deadline ? Math.max(1, deadline - Date.now()) : undefined })
      return await steps.keep(await this.opts.endpoint.mintLocationToken(agency, locationId))
    } finally {
      await lease.release().catch((err) => this.opts.logger.warn({ err, locationId }, 'could not release the mint lock'))
    }
  }

  /**
   * Marks the company's bulk install (the callback minting all its sub-accounts) as under way,
   * for at most `ttlMs`; `mintingInstall` tells the INSTALL webhooks of that storm, which then
   * wait to be delivered again instead of competing for the company's budget. Returns the release.
   */
  async beginInstall (companyId: string, ttlMs: number): Promise<() => Promise<void>> {
    const key = this.opts.keys.agencyInstall(companyId)
    await this.opts.redis.set(key, '1', 'PX', ttlMs)
    return async () => { await this.opts.redis.del(key) }
  }

  async mintingInstall (companyId: string): Promise<boolean> {
    return (await this.opts.redis.exists(this.opts.keys.agencyInstall(companyId))) === 1
  }

  /** Whether a token read earlier is still good for the refresh window (a cached one past it is read, and refreshed, again). */
  isFresh (integration: Integration): boolean {
    return !this.opts.integrations.needsRefresh(integration)
  }

  private async fresh (integration: Integration): Promise<Integration> {
    if (this.isFresh(integration)) return integration
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

  /**
   * The integration as stored now, if it may still be used: by its client, or by its id for an
   * agency connection (which has no client).
   */
  private async reread (seen: Integration): Promise<Integration> {
    if (seen.clientId) return this.requireActive(seen.clientId)
    const current = await this.opts.integrations.findActiveById(seen.id)
    if (!current) throw sendingRefused('not_connected')
    // Its refresh token is dead (another job met the refusal first): HighLevel is not asked again.
    if (current.status === 'needs_reauth') throw reauthError(current)
    return current
  }

  private async refresh (seen: Integration, { force = false } = {}): Promise<Integration> {
    const clientId = subjectKey(seen)
    const cooldownKey = this.opts.keys.refreshCooldown(clientId)
    const cooldownMs = await this.opts.redis.pttl(cooldownKey)
    if (cooldownMs > 0) {
      this.opts.onOutcome?.('cooling_down')
      if (!this.opts.integrations.isExpired(seen) && !force) return seen
      throw coolingDown(seen, cooldownMs)
    }

    const lease = await this.lock.acquire(this.opts.keys.refreshLock(clientId), this.lockTtlMs, this.lockWaitMs)
    if (!lease) {
      // The holder is slow or died holding it; whatever it managed to write or keep is what we can use.
      this.opts.onOutcome?.('lock_timeout')
      const current = await this.reread(seen)
      // Applying a kept answer needs no lock: its write is version-checked like any other.
      const recovered = await this.applyKept(current)
      if (recovered) return recovered
      if (!this.opts.integrations.isExpired(current)) return current
      throw refreshBusy()
    }
    try {
      const current = await this.reread(seen)
      if (current.id !== seen.id || current.tokenVersion !== seen.tokenVersion) {
        this.opts.onOutcome?.('reused')
        return current
      }
      // A refresh that died or could not write left HighLevel's answer: that pair is live, the stored refresh token is spent.
      const recovered = await this.applyKept(current)
      if (recovered) return recovered
      const justRefreshed = current.lastRefreshedAt && Date.now() - current.lastRefreshedAt.getTime() < this.recentRefreshMs
      // Forced (HighLevel refused the token): a token refreshed moments ago is reused, not spent again,
      // unless it is already due itself (a short-lived token), when handing it back would only meet another 401.
      if (!this.opts.integrations.needsRefresh(current) && (!force || justRefreshed)) {
        this.opts.onOutcome?.('reused')
        return current
      }
      return await this.spend(current, cooldownKey)
    } finally {
      await lease.release().catch((err) => this.opts.logger.warn({ err, clientId }, 'could not release the refresh lock'))
    }
  }

  /** Spends the refresh token: behind the fence, the answer kept the moment it arrives, then written. */
  private async spend (current: Integration, cooldownKey: string): Promise<Integration> {
    const fence = await this.fence.acquire(current, this.lockWaitMs)
    if (fence === 'moved_on') {
      this.opts.onOutcome?.('reused')
      return this.reread(current)
    }
    if (!fence) {
      // We hold the Redis lock, yet another process holds the fence: the lock's key was lost under it.
      this.opts.onOutcome?.('lock_timeout')
      const latest = await this.reread(current)
      if (!this.opts.integrations.isExpired(latest)) return latest
      throw refreshBusy()
    }
    try {
      // Again behind the fence: a holder whose lease ran out kept its answer before it did.
      const recovered = await this.applyKept(current)
      if (recovered) return recovered
      const timeoutMs = fence.callTimeoutMs()
      if (timeoutMs < MIN_CALL_MS) throw refreshBusy()
      // A location token minted through its agency has no refresh token: it is renewed by minting again.
      if (!current.refreshToken && current.userType !== 'Company' && current.companyId) {
        try {
          const minted = await this.renewThroughAgency(current, { recovering: false })
          if (minted) return minted
        } catch (err) {
          return await this.refused(current, err, cooldownKey)
        }
      }
      let tokens: RefreshedTokens
      try {
        tokens = await this.opts.endpoint.refresh(current, { timeoutMs })
      } catch (err) {
        return await this.refused(current, err, cooldownKey)
      }
      // HighLevel has spent the old refresh token: until the write lands, this answer is the only live pair.
      const keptIn = await this.kept.keep(current, tokens)
      return await this.store(current, tokens, keptIn)
    } finally {
      await fence.release().catch((err) => this.opts.logger.warn({ err, clientId: current.clientId }, 'could not release the refresh lease'))
    }
  }

  private async refused (current: Integration, err: unknown, cooldownKey: string): Promise<Integration> {
    const { integrations, endpoint, logger } = this.opts
    const log = logger.child({ clientId: current.clientId, locationId: current.locationId })
    const kind = endpoint.classify(err)
    const reason = (err as Error).message
    // A sibling whose lock lapsed may have spent the token and written the new pair meanwhile...
    const latest = await integrations.findById(current.id)
    if (latest && latest.isActive && latest.tokenVersion !== current.tokenVersion) {
      this.opts.onOutcome?.('reused')
      return latest
    }
    // ...or kept HighLevel's answer without writing it yet: a token is never declared dead while a live pair waits.
    const recovered = await this.applyKept(current)
    if (recovered) return recovered
    if (kind === 'invalid_grant' && current.userType !== 'Company' && current.companyId) {
      // The location's refresh token is dead, but an agency we hold can mint it a new token: no reconnect.
      const renewed = await this.renewThroughAgency(current, { recovering: Boolean(current.refreshToken) })
        .catch((renewErr) => { log.warn({ err: renewErr }, 'could not renew the location through its agency'); return null })
      if (renewed) return renewed
    }
    this.opts.onOutcome?.(kind)
    if (kind === 'invalid_grant') {
      await integrations.recordRefreshFailure(current.id, current.tokenVersion, { code: kind, status: 'needs_reauth', error: reason })
      if (current.userType === 'Company') {
        log.warn({ err, companyId: current.companyId }, 'agency refresh token rejected; the agency must approve the app again')
        await this.agencyBroken(current)
      } else {
        log.warn({ err }, 'refresh token rejected; the client must reconnect')
        await this.emit({ type: 'connection.broken', ...subject(current), reason: 'needs_reauth' })
      }
      throw reauthError(current)
    }
    const wait = Math.min(MAX_COOLDOWN_MS, BASE_COOLDOWN_MS * 2 ** Math.min(current.refreshFailures, 6))
    await this.opts.redis.set(cooldownKey, kind, 'PX', wait)
    if (kind === 'location_inactive') {
      // HighLevel keeps the refresh token valid while the location is paused: keep it, back off.
      await integrations.recordRefreshFailure(current.id, current.tokenVersion, { code: kind, status: 'location_inactive', error: reason })
      log.warn({ retryInMs: wait }, 'location is not active; keeping the token and backing off')
      if (current.status === 'active') {
        await this.emit({ type: 'connection.broken', ...subject(current), reason: 'location_inactive' })
      }
      throw conflict('location_inactive', 'The GoHighLevel location is not active (its subscription may be paused); the connection resumes when it is reactivated.',
        { retryAfterSeconds: Math.ceil(wait / 1000) })
    }
    const failingSince = await integrations.recordRefreshFailure(current.id, current.tokenVersion, { code: kind, error: reason })
    log.warn({ err, retryInMs: wait }, 'token refresh failed; cooling down')
    if (failingSince && current.status === 'active' && !integrations.isExpired(current) &&
      Date.now() - failingSince.getTime() >= this.expiringAfterMs) {
      // Failing this long while the token still works: the CRM can act before it breaks. Its id
      // is the version's, so the failures that follow are the same event.
      await this.emit({ type: 'connection.expiring', ...subject(current), failingSince, expiresAt: current.expiresAt })
    }
    if (!integrations.isExpired(current)) return current
    throw coolingDown(current, wait)
  }

  /**
   * Writes HighLevel's answer, retried with backoff while PostgreSQL fails. Past `storeRetryMs`
   * the caller is told to retry and the kept answer waits for the next refresh; an answer kept
   * nowhere (PostgreSQL and Redis both failing) is retried, and kept again, for as long as it takes.
   */
  private async store (current: Integration, tokens: RefreshedTokens, keptIn: KeptIn): Promise<Integration> {
    const log = this.opts.logger.child({ clientId: current.clientId, locationId: current.locationId })
    const deadline = Date.now() + this.storeRetryMs
    let won: boolean
    for (let attempt = 0; ; attempt++) {
      try {
        won = await this.opts.integrations.writeTokens(current.id, current.tokenVersion, tokens)
        break
      } catch (err) {
        const backoff = Math.min(MAX_STORE_BACKOFF_MS, 100 * 2 ** attempt)
        if (keptIn !== 'nowhere' && Date.now() + backoff > deadline) {
          this.opts.onOutcome?.('kept')
          log.error({ err, keptIn }, 'HighLevel refreshed the token but the write failed; the kept answer is applied by the next refresh')
          throw unavailable('refresh_unavailable', 'The GoHighLevel token was refreshed but could not be saved yet; it is applied automatically, try again shortly.', 5)
        }
        await new Promise((resolve) => setTimeout(resolve, backoff))
        if (keptIn === 'nowhere') keptIn = await this.kept.keep(current, tokens)
      }
    }
    await this.kept.forget(current)
    if (!won) {
      // A disconnect, a replacement, or a sibling that applied our kept answer: the stored row is the truth.
      log.warn('refreshed tokens were not stored: the integration changed meanwhile')
      return this.reread(current)
    }
    this.opts.onOutcome?.('refreshed')
    log.info({ expiresAt: tokens.expiresAt.toISOString() }, 'token refreshed')
    return this.written(current)
  }

  /** Writes the answer kept for `current`'s version, if one waits; null when none does. */
  private async applyKept (current: Integration): Promise<Integration | null> {
    const tokens = await this.kept.find(current)
    if (!tokens) return null
    const won = await this.opts.integrations.writeTokens(current.id, current.tokenVersion, tokens)
    await this.kept.forget(current)
    if (!won) {
      this.opts.onOutcome?.('reused')
      return this.reread(current)
    }
    this.opts.onOutcome?.('recovered')
    this.opts.logger.info({ clientId: current.clientId, locationId: current.locationId, expiresAt: tokens.expiresAt.toISOString() },
      'applied a kept refresh answer instead of spending the refresh token again')
    return this.written(current)
  }

  /**
   * A new token for a location of an agency we hold, minted with the agency's (fresh) token; null
   * when we hold no working agency connection for its company. Minting spends nothing single-use,
   * so its answer needs no keeping: a write that does not land is simply minted again next time.
   * `recovering`: the location's own refresh token just died, so the CRM hears it recovered.
   */
  private async renewThroughAgency (current: Integration, { recovering }: { recovering: boolean }): Promise<Integration | null> {
    const agency = await this.getFreshAgency(current.companyId!)
    if (!agency) return null
    await this.paceCompany(agency.companyId!)
    const tokens = await this.opts.endpoint.mintLocationToken(agency, current.locationId)
    const won = await this.opts.integrations.writeTokens(current.id, current.tokenVersion, { ...tokens, refreshToken: null, dropRefreshToken: true })
    if (!won) {
      this.opts.onOutcome?.('reused')
      return this.reread(current)
    }
    this.opts.onOutcome?.(recovering ? 'recovered' : 'minted')
    this.opts.logger.info({ clientId: current.clientId, locationId: current.locationId, recovering }, recovering
      ? 'location token renewed through its agency after its refresh token was refused'
      : 'location token renewed through its agency')
    if (recovering && current.status === 'active') await this.emit({ type: 'connection.recovered', ...subject(current) })
    return this.written(current)
  }

  /**
   * The integration after its new pair landed; a connection that was broken, or whose failing
   * refreshes reached `expiringAfterMs` (the CRM heard `connection.expiring`), is announced as recovered.
   */
  private async written (replaced: Integration): Promise<Integration> {
    const since = replaced.refreshFailingSince
    const warned = since !== null && replaced.lastErrorAt !== null && replaced.lastErrorAt.getTime() - since.getTime() >= this.expiringAfterMs
    if (replaced.status !== 'active' || warned) {
      await this.emit({ type: 'connection.recovered', ...subject(replaced) })
    }
    return (await this.opts.integrations.findById(replaced.id))!
  }

  /** The agency's refresh token is dead: the CRM hears which of its clients' sub-accounts live on it. */
  private async agencyBroken (agency: Integration): Promise<void> {
    const companyId = agency.companyId ?? ''
    try {
      const listed = await this.opts.integrations.listMintedLocations(companyId, AGENCY_BROKEN_LOCATIONS + 1)
      await this.emit({
        type: 'agency.broken', integrationId: agency.id, tokenVersion: agency.tokenVersion, companyId, reason: 'needs_reauth',
        locations: listed.slice(0, AGENCY_BROKEN_LOCATIONS), more: listed.length > AGENCY_BROKEN_LOCATIONS,
      })
    } catch (err) {
      this.opts.logger.warn({ err, companyId }, 'could not list the sub-accounts of a broken agency')
    }
  }

  private async emit (event: ConnectionEvent): Promise<void> {
    // The CRM knows clients; a client's connection event for an unclaimed install has none to tell it about.
    if (event.type !== 'agency.broken' && !event.clientId) return
    try {
      await this.opts.onEvent?.(event)
    } catch (err) {
      this.opts.logger.warn({ err, event: event.type }, 'could not record the connection event')
    }
  }
}

/** Whose lock and cooldown a refresh takes: the client's, or the integration's own for an agency connection. */
const subjectKey = (i: Integration): string => i.clientId || `integration-${i.id}`

const subject = (i: Integration) => ({ integrationId: i.id, tokenVersion: i.tokenVersion, clientId: i.clientId, locationId: i.locationId })

function refusal (code: SendingRefusal, i: Integration | null) {
  return code === 'needs_reauth' && i ? reauthError(i) : sendingRefused(code)
}

function reauthError (i: Integration) {
  return sendingRefused('needs_reauth', { locationId: i.locationId })
}

/** The agency's budget (or the location's mint) is taken for longer than the caller waits: an install storm. */
function companyBusy (waitedMs: number) {
  return tooManyRequests('company_rate_limited', 'The agency\'s GoHighLevel rate limit has no slot free soon (it is minting many sub-accounts at once); try again later.',
    Math.max(1, Math.ceil(waitedMs / 1000)))
}

function refreshBusy () {
  return unavailable('refresh_busy', 'The GoHighLevel token is being refreshed by another process; retry in a few seconds.', 5)
}

function coolingDown (i: Integration, ms: number) {
  return unavailable('refresh_unavailable', 'GoHighLevel did not refresh the token just now; it is retried automatically, try again shortly.',
    Math.max(1, Math.ceil(ms / 1000)))
}
