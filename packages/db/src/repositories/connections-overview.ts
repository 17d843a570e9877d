/**
 * Ops' view of the clients' connections (the CLI's `clients list/show`, the ops page): which are
 * broken, which about to expire, and what happened to a client. Reads only; never a token.
 */
import { and, asc, eq, gte, ilike, ne, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { ghlIntegrations, smsMessages, smsStatuses, type IntegrationStatus, type SmsStatus } from '../schema/index.ts'

/**
 * How a connection is doing, broken first: `needs_reauth` (the client must connect again),
 * `location_inactive` (HighLevel paused the sub-account), `expiring` (active, its token expires
 * within the horizon, or already has: the refresh is late), `active` (nothing to do).
 */
export const connectionHealths = ['needs_reauth', 'location_inactive', 'expiring', 'active'] as const
export type ConnectionHealth = (typeof connectionHealths)[number]

/** "Expiring" means within this of now unless the caller says otherwise: the token sweep's default horizon. */
export const DEFAULT_EXPIRING_WITHIN_MS = 3_600_000

export interface ConnectionsQuery {
  health?: ConnectionHealth
  /** Part of a client id, any case. */
  search?: string
  expiringWithinMs?: number
  limit?: number
  offset?: number
  now?: Date
}

/** One connection as ops see it: no token, no ciphertext. */
export interface ConnectionOverview {
  integrationId: string
  clientId: string
  locationId: string
  locationName: string | null
  companyId: string | null
  status: IntegrationStatus
  isActive: boolean
  health: ConnectionHealth | 'ended'
  expiresAt: Date
  connectedAt: Date
  lastRefreshedAt: Date | null
  refreshFailures: number
  lastError: string | null
  tokenVersion: number
  scopes: string[]
}

const t = ghlIntegrations
const overviewColumns = (expiringBefore: Date) => ({
  integrationId: t.id,
  clientId: t.clientId,
  locationId: t.locationId,
  locationName: t.locationName,
  companyId: t.companyId,
  status: t.status,
  isActive: t.isActive,
  health: sql<ConnectionHealth | 'ended'>`case
    when not ${t.isActive} then 'ended'
    when ${t.status} = 'needs_reauth' then 'needs_reauth'
    when ${t.status} = 'location_inactive' then 'location_inactive'
    when ${t.expiresAt} < ${expiringBefore.toISOString()}::timestamptz then 'expiring'
    else 'active' end`,
  expiresAt: t.expiresAt,
  connectedAt: t.connectedAt,
  lastRefreshedAt: t.lastRefreshedAt,
  refreshFailures: t.refreshFailures,
  lastError: t.lastError,
  tokenVersion: t.tokenVersion,
  scopes: t.scopes,
})

export class ConnectionsOverviewRepository {
  constructor (private readonly db: Database) {}

  /**
   * The clients' current connections (active rows of claimed installs), broken first: needs_reauth,
   * location_inactive, expiring (soonest first), then the rest; by client id within each.
   */
  async list (q: ConnectionsQuery = {}): Promise<ConnectionOverview[]> {
    const now = q.now ?? new Date()
    const columns = overviewColumns(new Date(now.getTime() + (q.expiringWithinMs ?? DEFAULT_EXPIRING_WITHIN_MS)))
    const rank = sql`case ${columns.health} when 'needs_reauth' then 0 when 'location_inactive' then 1 when 'expiring' then 2 else 3 end`
    const rows = await this.db.select(columns).from(t).where(and(
      eq(t.isActive, true),
      ne(t.clientId, ''),
      q.health ? sql`${columns.health} = ${q.health}` : undefined,
      q.search ? ilike(t.clientId, `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : undefined,
    )).orderBy(rank, sql`case when ${columns.health} = 'expiring' then ${t.expiresAt} end`, asc(t.clientId))
      .limit(q.limit ?? 1000).offset(q.offset ?? 0)
    return rows
  }

  /** How many current connections are in each health, for a summary line. */
  async countByHealth (q: Pick<ConnectionsQuery, 'expiringWithinMs' | 'now'> = {}): Promise<Record<ConnectionHealth, number>> {
    const now = q.now ?? new Date()
    const { health } = overviewColumns(new Date(now.getTime() + (q.expiringWithinMs ?? DEFAULT_EXPIRING_WITHIN_MS)))
    const rows = await this.db.select({ health, count: sql<number>`count(*)::int` }).from(t)
      // By position: the expression carries a parameter, and PostgreSQL matches a repeated one by text, not value.
      .where(and(eq(t.isActive, true), ne(t.clientId, ''))).groupBy(sql`1`)
    const counts = Object.fromEntries(connectionHealths.map((h) => [h, 0])) as Record<ConnectionHealth, number>
    for (const row of rows) if (row.health !== 'ended') counts[row.health] = row.count
    return counts
  }

  /** A client's connection: the active one, or else its latest (ended) one; null for a client that never connected. */
  async findClient (clientId: string, q: Pick<ConnectionsQuery, 'expiringWithinMs' | 'now'> = {}): Promise<ConnectionOverview | null> {
    if (!clientId) return null
    const now = q.now ?? new Date()
    const [row] = await this.db.select(overviewColumns(new Date(now.getTime() + (q.expiringWithinMs ?? DEFAULT_EXPIRING_WITHIN_MS))))
      .from(t).where(eq(t.clientId, clientId))
      .orderBy(sql`${t.isActive} desc`, sql`${t.connectedAt} desc`).limit(1)
    return row ?? null
  }

  /** A client's SMS asked for since `since`, counted by status (served by the (client, created) index). */
  async smsCountsByStatus (clientId: string, since: Date): Promise<Record<SmsStatus, number>> {
    const rows = await this.db.select({ status: smsMessages.status, count: sql<number>`count(*)::int` }).from(smsMessages)
      .where(and(eq(smsMessages.clientId, clientId), gte(smsMessages.createdAt, since))).groupBy(smsMessages.status)
    const counts = Object.fromEntries(smsStatuses.map((s) => [s, 0])) as Record<SmsStatus, number>
    for (const row of rows) counts[row.status] = row.count
    return counts
  }
}
