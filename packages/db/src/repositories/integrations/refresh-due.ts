/** When a token is due: expired, within the refresh window, and the sweep's listing of those due soon. */
import { and, asc, eq, isNotNull, lt, ne, sql } from 'drizzle-orm'
import type { Database } from '../../database.ts'
import { ghlIntegrations } from '../../schema/index.ts'
import type { Integration } from './sealed-rows.ts'

export interface ExpiringIntegration { id: string, clientId: string, expiresAt: Date }

/** An agency (Company) connection whose refresh token was last renewed at `renewedAt`. */
export interface AgingAgency { id: string, companyId: string, renewedAt: Date }

export const DEFAULT_REFRESH_WINDOW_MS = 5 * 60_000

export function isExpired (i: Pick<Integration, 'expiresAt'>, now = new Date()): boolean {
  return i.expiresAt.getTime() <= now.getTime()
}

export function needsRefresh (i: Pick<Integration, 'expiresAt'>, windowMs = DEFAULT_REFRESH_WINDOW_MS, now = new Date()): boolean {
  return i.expiresAt.getTime() - now.getTime() <= windowMs
}

export class RefreshDueListing {
  constructor (private readonly db: Database) {}

  /**
   * One page of active, refreshable integrations expiring before `before`, in (expiresAt, id)
   * order; pass the last row back as `after` for the next page. Its predicate is the one of the
   * partial index ghl_integrations_refresh_due and it reads only that index's columns, so
   * PostgreSQL answers it with an index-only scan; the row comparison keeps the next page a
   * range scan from the cursor.
   */
  async listExpiring (before: Date, limit: number, after?: ExpiringIntegration): Promise<ExpiringIntegration[]> {
    const t = ghlIntegrations
    return this.db.select({ id: t.id, clientId: t.clientId, expiresAt: t.expiresAt }).from(t).where(and(
      eq(t.isActive, true),
      lt(t.expiresAt, before),
      ne(t.clientId, ''),
      ne(t.status, 'needs_reauth'),
      isNotNull(t.refreshToken),
      after ? sql`(${t.expiresAt}, ${t.id}) > (${after.expiresAt.toISOString()}::timestamptz, ${after.id}::uuid)` : undefined,
    )).orderBy(asc(t.expiresAt), asc(t.id)).limit(limit)
  }

  /**
   * Agency connections whose refresh token was last renewed before `renewedBefore`, oldest first,
   * at most `limit` (the rest are next sweep's: each one renewed leaves the list). An agency's
   * token is otherwise renewed only when it mints, and HighLevel's refresh token dies after a
   * year unused. The predicate and the order are the partial index
   * ghl_integrations_agency_refresh_due's (agency rows only: a few, whatever the number of locations).
   */
  async listAgingAgencies (renewedBefore: Date, limit: number): Promise<AgingAgency[]> {
    const t = ghlIntegrations
    const renewedAt = sql<Date>`coalesce(${t.lastRefreshedAt}, ${t.connectedAt})`
    const rows = await this.db.select({ id: t.id, companyId: t.companyId, renewedAt }).from(t).where(and(
      eq(t.isActive, true),
      eq(t.userType, 'Company'),
      ne(t.status, 'needs_reauth'),
      isNotNull(t.refreshToken),
      sql`${renewedAt} < ${renewedBefore.toISOString()}::timestamptz`,
    )).orderBy(asc(renewedAt), asc(t.id)).limit(limit)
    return rows.map((r) => ({ id: r.id, companyId: r.companyId ?? '', renewedAt: new Date(r.renewedAt) }))
  }
}
