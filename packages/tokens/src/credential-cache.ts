/**
 * Credentials kept per process, in two ways.
 *
 * The worker's: a worker process's credentials, kept so an SMS does not read and decrypt its client's
 * integration from PostgreSQL every time. Honest by the database, not by the clock: an entry is
 * used only while the client as stored (`SendingStamp`, read with the outbox row) still has the
 * integration and token version the entry was read on, and the `queued -> sending` write is
 * conditional on the same (`basisHoldsSql`), so a token another process refreshed, or a client
 * disconnected or reconnected, is never POSTed with. The TTL and the bound only keep the memory
 * small and the entries young; correctness does not rest on them.
 *
 * The api's (the proxy, MCP, conversations): no stamp is read with a request, so an entry is
 * dropped instead when any process writes the connection. Every write of the integrations
 * repository is announced on a Redis channel (core's `integrationChanges`, messages from
 * `credentialChangeMessages`) and reaches `onMessage` on every replica; while that subscription
 * is not live nothing is served from here (`onReset` empties it), and a read that began before a
 * message does not store what it read (the generation passed to `remember`). Credentials.forClient
 * also never serves a token that is due for refresh, and HighLevel's 401 still refreshes (the
 * refresh path re-reads the row). The bound: a replica can use the previous token after the
 * writer's announcement returned for as long as Redis takes to deliver the message.
 */
import type { IntegrationChange } from '@ghl-connect/db'
export interface CredentialCacheOptions {
  /** How many clients are kept; the one used longest ago goes first. */
  maxClients: number
  /** How long an entry is used at most, whatever the stamps say. */
  ttlMs: number
  now?: () => number
}

export const DEFAULT_CREDENTIAL_CACHE = { maxClients: 10_000, ttlMs: 30_000 } as const

/** `C`: what is kept per client (credentials.ts's Credential); generic so this file needs nothing of it. */
/** What a cached credential was read from, for a message naming the integration (the refresh path's writes). */
interface Kept { clientId: string, integration?: { id: string } }

export class CredentialCache<C extends Kept> {
  // A Map keeps insertion order: re-inserting on use makes its first key the least recently used.
  private readonly entries = new Map<string, { credential: C, storedAt: number }>()
  private readonly now: () => number

  constructor (private readonly opts: CredentialCacheOptions) {
    this.now = opts.now ?? Date.now
  }

  get (clientId: string): C | null {
    const entry = this.entries.get(clientId)
    if (!entry) return null
    this.entries.delete(clientId)
    if (this.now() - entry.storedAt >= this.opts.ttlMs) return null
    this.entries.set(clientId, entry)
    return entry.credential
  }

  /** `generation`/`current`: what the read began under and what it is now; a read overtaken by a change is not kept. */
  remember (credential: C, read?: { generation: number, current: number }): void {
    if (read && read.generation !== read.current) return
    this.entries.delete(credential.clientId)
    this.entries.set(credential.clientId, { credential, storedAt: this.now() })
    while (this.entries.size > this.opts.maxClients) this.entries.delete(this.entries.keys().next().value!)
  }

  /** Replaces the client's entry if it has one (a refresh of a client that sends nothing does not take a slot). */
  update (credential: C): void {
    if (this.entries.has(credential.clientId)) this.remember(credential)
  }

  forget (clientId: string): void {
    this.entries.delete(clientId)
  }

  /** A change announced on the integrations channel (see the opening comment). */
  onMessage (message: string): void {
    const [kind, id] = message.split(/:(.*)/s)
    if (kind === 'client' && id) {
      this.entries.delete(id)
      return
    }
    // Anything else (an integration's id, or a message this version does not know): drop what it may name.
    for (const [clientId, entry] of this.entries) {
      if (kind !== 'integration' || entry.credential.integration?.id === id) this.entries.delete(clientId)
    }
  }

  /** The announcements stopped reaching us: nothing kept can be trusted. */
  onReset (): void {
    this.entries.clear()
  }

  get size (): number {
    return this.entries.size
  }
}

/** The messages that announce `change` on the integrations channel, read back by `CredentialCache.onMessage`. */
export function credentialChangeMessages (change: IntegrationChange): string[] {
  return [...change.clientIds.map((id) => `client:${id}`), ...change.integrationIds.map((id) => `integration:${id}`)]
}
