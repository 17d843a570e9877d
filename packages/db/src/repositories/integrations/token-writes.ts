/**
 * What the refresh path writes: a new token pair, or a failure. Both are conditional on the
 * token_version the writer read, so of two writers racing for one row the loser re-reads
 * instead of overwriting (packages/tokens).
 */
import { and, eq, sql } from 'drizzle-orm'
import type { Database } from '../../database.ts'
import { ghlIntegrations, type IntegrationStatus, type RefreshErrorCode } from '../../schema/index.ts'
import type { SealedRows } from './sealed-rows.ts'

export interface NewTokens {
  accessToken: string
  /** HighLevel sometimes answers without one; then the stored refresh token stays... */
  refreshToken?: string | null
  /** ...unless it is dead: a location token minted through the agency replaces a spent one and has none. */
  dropRefreshToken?: boolean
  expiresAt: Date
  scopes?: string[]
}

/**
 * The update that stores a good token pair on row `id`: a new version (a writer that read the old
 * one loses), active again, past failures cleared. Also what a re-install of a held location writes.
 */
export function newTokensUpdate (rows: SealedRows, id: string, tokens: NewTokens) {
  const now = new Date()
  return {
    accessToken: rows.sealToken(id, 'access_token', tokens.accessToken),
    ...(tokens.refreshToken ? { refreshToken: rows.sealToken(id, 'refresh_token', tokens.refreshToken) } : {}),
    ...(tokens.dropRefreshToken && !tokens.refreshToken ? { refreshToken: null } : {}),
    ...(tokens.scopes ? { scopes: tokens.scopes } : {}),
    expiresAt: tokens.expiresAt,
    tokenVersion: sql`${ghlIntegrations.tokenVersion} + 1`,
    status: 'active' as const,
    refreshFailures: 0,
    lastError: null,
    lastErrorCode: null,
    lastErrorAt: null,
    refreshFailingSince: null,
    lastRefreshedAt: now,
    updatedAt: now,
  }
}

export class IntegrationTokenWrites {
  constructor (private readonly db: Database, private readonly rows: SealedRows) {}

  /**
   * Writes a refreshed token pair only if nobody wrote since `readVersion` was read.
   * Returns whether this writer won; the loser must re-read instead of overwriting.
   */
  async writeTokens (id: string, readVersion: number, tokens: NewTokens): Promise<boolean> {
    const rows = await this.db.update(ghlIntegrations).set(newTokensUpdate(this.rows, id, tokens))
      .where(and(eq(ghlIntegrations.id, id), eq(ghlIntegrations.tokenVersion, readVersion), eq(ghlIntegrations.isActive, true)))
      .returning({ id: ghlIntegrations.id })
    return rows.length === 1
  }

  /**
   * Records a failed refresh: one more failure, and how and when the last one failed (the next
   * good refresh clears them, `writeTokens`). `status` moves the integration out of `active`
   * (needs_reauth, location_inactive); without a `code`, the one its status implies. Conditional
   * on the version too: a sibling's newer token wins over our failure. Returns when this failing
   * episode began (the first failure since the last good refresh), or null when the write lost.
   */
  async recordRefreshFailure (id: string, readVersion: number,
    failure: { error: string, status?: IntegrationStatus, code?: RefreshErrorCode }): Promise<Date | null> {
    const now = new Date()
    const code = failure.code ?? (failure.status === 'needs_reauth' ? 'invalid_grant' : failure.status === 'location_inactive' ? 'location_inactive' : 'transient')
    const rows = await this.db.update(ghlIntegrations).set({
      refreshFailures: sql`${ghlIntegrations.refreshFailures} + 1`,
      lastErrorCode: code,
      lastError: failure.error.slice(0, 500),
      lastErrorAt: now,
      refreshFailingSince: sql`coalesce(${ghlIntegrations.refreshFailingSince}, ${now.toISOString()}::timestamptz)`,
      ...(failure.status ? { status: failure.status } : {}),
      updatedAt: now,
    }).where(and(eq(ghlIntegrations.id, id), eq(ghlIntegrations.tokenVersion, readVersion)))
      .returning({ failingSince: ghlIntegrations.refreshFailingSince })
    return rows[0]?.failingSince ?? null
  }
}
