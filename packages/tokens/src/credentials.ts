/**
 * Which token a client's HighLevel calls use: its own OAuth token through the one refresh path,
 * or, during the seed's migration phases (GHL_LEGACY_PIT_FALLBACK on), the legacy Private
 * Integration Token for a client that never connected (one whose connection ended must reconnect). Which of the two is the domain's
 * rule (`sendingAccess` in @ghl-connect/db); this only carries it out and warns.
 */
import { basisHolds, type CredentialBasis, type Integration, type SendingStamp } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CredentialCache } from './credential-cache.ts'
import type { TokenService } from './token-service.ts'

export type Credential =
  | { kind: 'oauth', clientId: string, locationId: string, accessToken: string, integration: Integration }
  | { kind: 'legacy_pit', clientId: string, locationId: string, accessToken: string }

export interface LegacyPit { token: string, locationId: string }

/** Whether the announcements of changed connections reach this process now, and how many have (credential-cache.ts). */
export interface ChangeWatch { readonly live: boolean, readonly generation: number }

export interface CredentialsOptions {
  /** The process's cache; without it every call reads PostgreSQL. */
  cache?: CredentialCache<Credential>
  /**
   * The api's: the cache is also used for calls without a stamp, while `watch` is live (every
   * change to a connection drops its entry). Without it (the worker) only stamped calls use the cache.
   */
  watch?: ChangeWatch
  /** Whether a call used the cache. */
  onLookup?: (result: 'cached' | 'read') => void
}

export class Credentials {
  private readonly cache: CredentialCache<Credential> | null
  private readonly watch: ChangeWatch | null
  private readonly onLookup?: (result: 'cached' | 'read') => void
  /**
   * Reads under way, by client: callers missing the cache together share one (one PostgreSQL read,
   * and for a token come due one refresh) instead of each queueing on the refresh lock. Joined only
   * while no announcement arrived since the read began (its generation).
   */
  private readonly reading = new Map<string, { generation: number, read: Promise<Credential> }>()

  constructor (
    private readonly tokens: TokenService,
    private readonly legacyPit: LegacyPit | null,
    private readonly logger: Logger,
    opts: CredentialsOptions = {},
  ) {
    this.cache = opts.cache ?? null
    this.watch = opts.watch ?? null
    this.onLookup = opts.onLookup
  }

  /**
   * The client's credential now. With `stored` (the client as stored, read in the same statement
   * as the outbox row), a cached credential is used while its basis still holds and its token (as
   * stored: same expiry) is not due for refresh; otherwise, or without `stored`, it is read (and refreshed) as always.
   */
  async forClient (clientId: string, stored?: SendingStamp | null): Promise<Credential> {
    if (this.cache && stored !== undefined) {
      const cached = this.cache.get(clientId)
      const usable = cached && basisHolds(credentialBasis(cached), stored) && (cached.kind !== 'oauth' || (
        // the stored expiry, not the cached one: a token made due in the database is refreshed, not served
        cached.integration.expiresAt.getTime() === stored?.expiresAt.getTime() && this.tokens.isFresh(cached.integration)))
      this.onLookup?.(usable ? 'cached' : 'read')
      if (usable) return cached
    } else if (this.cache && this.watch) {
      const cached = this.watch.live ? this.cache.get(clientId) : null
      // a token due for refresh is read (and refreshed) again, never served from here
      const usable = cached && (cached.kind !== 'oauth' || this.tokens.isFresh(cached.integration))
      this.onLookup?.(usable ? 'cached' : 'read')
      if (usable) return cached
    }
    const generation = this.watch?.generation ?? 0
    try {
      // Shared with callers beside it. One whose row was read after the shared read began may get
      // an older credential than its row names: its version-checked `sending` write refuses it, and
      // the job reads again (sms-sender.ts), as for any credential that moved on.
      const credential = await this.readOnce(clientId, generation)
      // Watched: only while the announcements reach us, and only if none arrived during the read.
      if (!this.watch) this.cache?.remember(credential)
      else if (this.watch.live) this.cache?.remember(credential, { generation, current: this.watch.generation })
      return credential
    } catch (err) {
      this.cache?.forget(clientId)
      throw err
    }
  }

  /** A credential PostgreSQL has just confirmed (the version-checked sending write took it): kept for the next SMS. */
  confirmed (credential: Credential): void {
    this.cache?.remember(credential)
  }

  /** This process's refresh path wrote the client's new token (the sweep's refresh): a cached entry takes it. */
  refreshed (integration: Integration): void {
    if (integration.clientId) this.cache?.update(oauthCredential(integration))
  }

  /** The client's stored connection moved on from what was cached: the next call reads it. */
  forget (clientId: string): void {
    this.cache?.forget(clientId)
  }

  private readOnce (clientId: string, generation: number): Promise<Credential> {
    const under = this.reading.get(clientId)
    if (under && under.generation === generation) return under.read
    const read = this.read(clientId)
    this.reading.set(clientId, { generation, read })
    const done = () => { if (this.reading.get(clientId)?.read === read) this.reading.delete(clientId) }
    read.then(done, done)
    return read
  }

  private async read (clientId: string): Promise<Credential> {
    const access = await this.tokens.forSending(clientId, { legacyPitFallback: this.legacyPit !== null })
    if (access.kind === 'oauth') return oauthCredential(access.integration)
    // The rule answers legacy_pit only when the fallback is on, that is when a legacy PIT is configured.
    const pit = this.legacyPit!
    this.logger.warn({ clientId, locationId: pit.locationId, deprecation: 'legacy_pit' },
      'sending with the legacy Private Integration Token: this client has never connected GoHighLevel by OAuth; the fallback goes away when GHL_LEGACY_PIT_FALLBACK is turned off')
    return { kind: 'legacy_pit', clientId, locationId: pit.locationId, accessToken: pit.token }
  }
}

/** What `credential` was read from: the integration at its token version, or, for the legacy PIT, a client that never connected. */
export function credentialBasis (credential: Credential): CredentialBasis {
  return credential.kind === 'oauth'
    ? { kind: 'oauth', integrationId: credential.integration.id, tokenVersion: credential.integration.tokenVersion }
    : { kind: 'legacy_pit', clientId: credential.clientId }
}

export function oauthCredential (integration: Integration): Credential {
  return { kind: 'oauth', clientId: integration.clientId, locationId: integration.locationId, accessToken: integration.accessToken ?? '', integration }
}
