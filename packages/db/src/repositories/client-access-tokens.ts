import { and, asc, eq, isNull } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { clientAccessTokens, type ClientAccessTokenRow } from '../schema/index.ts'

export type NewClientAccessToken = Pick<ClientAccessTokenRow, 'id' | 'clientId' | 'name' | 'scopes' | 'secretHash' | 'expiresAt'>

/** Client access tokens' rows; the rules (format, hashing, scopes, lifetime) are packages/access-tokens'. */
export class ClientAccessTokensRepository {
  constructor (private readonly db: Database) {}

  async insert (token: NewClientAccessToken): Promise<ClientAccessTokenRow> {
    const [row] = await this.db.insert(clientAccessTokens).values(token).returning()
    return row!
  }

  /** The one read a request with a token costs: by primary key. */
  async findById (id: string): Promise<ClientAccessTokenRow | null> {
    const [row] = await this.db.select().from(clientAccessTokens).where(eq(clientAccessTokens.id, id)).limit(1)
    return row ?? null
  }

  /** A client's tokens not revoked, oldest first (expired ones too: their expiry says so). */
  async listActive (clientId: string): Promise<ClientAccessTokenRow[]> {
    return this.db.select().from(clientAccessTokens)
      .where(and(eq(clientAccessTokens.clientId, clientId), isNull(clientAccessTokens.revokedAt)))
      .orderBy(asc(clientAccessTokens.createdAt), asc(clientAccessTokens.id))
  }

  /** Revokes the client's token; false when the client has no token with this id (revoking twice is true twice). */
  async revoke (clientId: string, id: string, at: Date): Promise<boolean> {
    const owned = and(eq(clientAccessTokens.id, id), eq(clientAccessTokens.clientId, clientId))
    await this.db.update(clientAccessTokens).set({ revokedAt: at }).where(and(owned, isNull(clientAccessTokens.revokedAt)))
    const [row] = await this.db.select({ id: clientAccessTokens.id }).from(clientAccessTokens).where(owned).limit(1)
    return row !== undefined
  }

  async touch (id: string, at: Date): Promise<void> {
    await this.db.update(clientAccessTokens).set({ lastUsedAt: at }).where(eq(clientAccessTokens.id, id))
  }
}
