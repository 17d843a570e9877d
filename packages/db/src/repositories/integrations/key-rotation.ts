/** Re-encrypting every stored token under the primary key (`pnpm --filter @ghl-connect/db rotate-keys`). */
import { and, asc, eq, gt, isNotNull, or, sql } from 'drizzle-orm'
import type { Database } from '../../database.ts'
import { ghlIntegrations } from '../../schema/index.ts'
import type { TokenCipher } from '../../token-cipher.ts'
import { tokenContext, type TokenColumn } from './sealed-rows.ts'

export interface KeyRotationResult { rotated: number, alreadyPrimary: number, changedMeanwhile: number }

export class IntegrationKeyRotation {
  constructor (private readonly db: Database, private readonly cipher: TokenCipher) {}

  /**
   * Re-encrypts every stored token under the primary key. The write is conditional on the row
   * being unchanged and does not bump token_version: a refresh in flight must still win its
   * version-checked write, or its new single-use refresh token would be lost.
   */
  async rotateKeys (batchSize = 500): Promise<KeyRotationResult> {
    const t = ghlIntegrations
    const result = { rotated: 0, alreadyPrimary: 0, changedMeanwhile: 0 }
    let lastId: string | undefined
    for (;;) {
      const rows = await this.db.select({ id: t.id, tokenVersion: t.tokenVersion, accessToken: t.accessToken, refreshToken: t.refreshToken })
        .from(t).where(and(or(isNotNull(t.accessToken), isNotNull(t.refreshToken)), lastId ? gt(t.id, lastId) : undefined))
        .orderBy(asc(t.id)).limit(batchSize)
      if (rows.length === 0) return result
      lastId = rows[rows.length - 1]!.id
      for (const row of rows) {
        const stale = [row.accessToken, row.refreshToken].some((v) => v !== null && !this.cipher.isUnderPrimary(v))
        if (!stale) { result.alreadyPrimary++; continue }
        const reseal = (value: string | null, column: TokenColumn) =>
          value === null ? null : this.cipher.encrypt(this.cipher.decrypt(value, tokenContext(row.id, column)), tokenContext(row.id, column))
        const updated = await this.db.update(t).set({
          accessToken: reseal(row.accessToken, 'access_token'),
          refreshToken: reseal(row.refreshToken, 'refresh_token'),
        }).where(and(
          eq(t.id, row.id), eq(t.tokenVersion, row.tokenVersion),
          sql`${t.accessToken} is not distinct from ${row.accessToken}`,
          sql`${t.refreshToken} is not distinct from ${row.refreshToken}`,
        )).returning({ id: t.id })
        if (updated.length === 1) result.rotated++
        else result.changedMeanwhile++
      }
    }
  }
}
