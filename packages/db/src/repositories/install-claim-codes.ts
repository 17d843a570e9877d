import { eq, lt } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { installClaimCodes } from '../schema/index.ts'

/** What a presented claim code turned out to be; `wrong` counts against the code's attempts. */
export type ClaimCodeCheck =
  | { outcome: 'accepted' }
  | { outcome: 'wrong', attemptsLeft: number }
  | { outcome: 'exhausted' }
  | { outcome: 'expired' }
  | { outcome: 'unknown' }

/** The one-time claim codes of unclaimed marketplace installs, stored as keyed hashes only. */
export class InstallClaimCodesRepository {
  constructor (private readonly db: Database) {}

  /** Stores the code for `locationId`, replacing the one of an earlier install (and its attempts). */
  async issue (locationId: string, codeHash: string, expiresAt: Date): Promise<void> {
    // Installs are rare: expired codes are dropped here rather than by a job of their own.
    await this.db.delete(installClaimCodes).where(lt(installClaimCodes.expiresAt, new Date()))
    await this.db.insert(installClaimCodes).values({ locationId, codeHash, expiresAt })
      .onConflictDoUpdate({
        target: installClaimCodes.locationId,
        set: { codeHash, expiresAt, failedAttempts: 0, createdAt: new Date() },
      })
  }

  /**
   * Checks a presented code under a row lock, so concurrent guesses are each counted and an
   * accepted code is consumed once. `matches` compares the stored hash (in constant time).
   */
  async redeem (locationId: string, matches: (codeHash: string) => boolean, maxAttempts: number, now = new Date()): Promise<ClaimCodeCheck> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(installClaimCodes).where(eq(installClaimCodes.locationId, locationId)).for('update')
      if (!row) return { outcome: 'unknown' }
      if (row.expiresAt.getTime() <= now.getTime()) return { outcome: 'expired' }
      if (row.failedAttempts >= maxAttempts) return { outcome: 'exhausted' }
      if (matches(row.codeHash)) {
        await tx.delete(installClaimCodes).where(eq(installClaimCodes.locationId, locationId))
        return { outcome: 'accepted' }
      }
      const failedAttempts = row.failedAttempts + 1
      await tx.update(installClaimCodes).set({ failedAttempts }).where(eq(installClaimCodes.locationId, locationId))
      return { outcome: 'wrong', attemptsLeft: maxAttempts - failedAttempts }
    })
  }
}
