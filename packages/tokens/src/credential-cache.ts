/**
 * A worker process's credentials, kept so an SMS does not read and decrypt its client's
 * integration from PostgreSQL every time. Honest by the database, not by the clock: an entry is
 * used only while the client as stored (`SendingStamp`, read with the outbox row) still has the
 * integration and token version the entry was read on, and the `queued -> sending` write is
 * conditional on the same (`basisHoldsSql`), so a token another process refreshed, or a client
 * disconnected or reconnected, is never POSTed with. The TTL and the bound only keep the memory
 * small and the entries young; correctness does not rest on them.
 */
export interface CredentialCacheOptions {
  /** How many clients are kept; the one used longest ago goes first. */
  maxClients: number
  /** How long an entry is used at most, whatever the stamps say. */
  ttlMs: number
  now?: () => number
}

export const DEFAULT_CREDENTIAL_CACHE = { maxClients: 10_000, ttlMs: 30_000 } as const

/** `C`: what is kept per client (credentials.ts's Credential); generic so this file needs nothing of it. */
export class CredentialCache<C extends { clientId: string }> {
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

  remember (credential: C): void {
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

  get size (): number {
    return this.entries.size
  }
}
