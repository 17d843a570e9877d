/**
 * Leases on spending an integration's refresh token (the table's comment says why they live in
 * PostgreSQL). A lease is taken only for the token version the holder read, and only when no
 * other holder's lease is still running by PostgreSQL's clock: one statement decides both.
 */
import { and, eq, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { ghlIntegrations, tokenRefreshLeases } from '../schema/index.ts'

/** taken: this holder may spend; busy: another holder's lease runs; moved_on: the version read is gone. */
export type LeaseAttempt = 'taken' | 'busy' | 'moved_on'

export class TokenRefreshLeasesRepository {
  constructor (private readonly db: Database) {}

  /** Runs at least `ttlMs` from the moment this call was made (PostgreSQL's now() comes later). */
  async tryTake (integrationId: string, tokenVersion: number, holder: string, ttlMs: number): Promise<LeaseAttempt> {
    const l = tokenRefreshLeases
    const i = ghlIntegrations
    const taken = await this.db.execute(sql`
      insert into ${l} (integration_id, holder, expires_at)
      select ${i.id}, ${holder}, now() + ${Math.ceil(ttlMs)}::int * interval '1 millisecond' from ${i}
      where ${i.id} = ${integrationId} and ${i.tokenVersion} = ${tokenVersion} and ${i.isActive}
      on conflict (integration_id) do update set holder = excluded.holder, expires_at = excluded.expires_at
      where ${l.expiresAt} <= now()
      returning integration_id`)
    if (taken.length === 1) return 'taken'
    const [row] = await this.db.select({ tokenVersion: i.tokenVersion, isActive: i.isActive }).from(i).where(eq(i.id, integrationId))
    return row?.isActive && row.tokenVersion === tokenVersion ? 'busy' : 'moved_on'
  }

  async release (integrationId: string, holder: string): Promise<void> {
    await this.db.delete(tokenRefreshLeases).where(and(eq(tokenRefreshLeases.integrationId, integrationId), eq(tokenRefreshLeases.holder, holder)))
  }
}
