/** When a token is due: expired, within the refresh window, and the sweep's listing of those due soon. */
import { and, asc, eq, isNotNull, lt, ne, sql } from 'drizzle-orm'
import type { Database } from '../../database.ts'
import { ghlIntegrations } from '../../schema/index.ts'
import type { Integration } from './sealed-rows.ts'

export interface ExpiringIntegration { id: string, clientId: string, expiresAt: Date }

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
}
