/**
 * What ops see of the connections (the api's /admin/connections page; an ops CLI can read the
 * same): each client's current integration (its active one, else its newest past one, so a client
 * that disconnected shows once, not once per old connection) and every install not yet claimed,
 * each with its health, broken ones first. Never a token.
 */
import { sql, type SQL } from 'drizzle-orm'
import type { Database } from '../database.ts'
import type { IntegrationStatus, RefreshErrorCode } from '../schema/index.ts'

/**
 * A connection's health, in the order ops should look at them: the client must reconnect;
 * HighLevel paused the location; the token expires within the horizon (the sweep should have
 * refreshed it); fine; an install waiting for its claim code; ended (disconnected, uninstalled,
 * replaced by nothing).
 */
export const connectionHealths = ['needs_reauth', 'location_inactive', 'expiring', 'active', 'unclaimed', 'disconnected'] as const
export type ConnectionHealth = (typeof connectionHealths)[number]

export interface ConnectionSummary {
  integrationId: string
  /** Empty for an unclaimed install. */
  clientId: string
  locationId: string
  locationName: string | null
  health: ConnectionHealth
  status: IntegrationStatus
  isActive: boolean
  expiresAt: Date
  lastRefreshedAt: Date | null
  connectedAt: Date
  /** Failed refreshes since the last good one, and the last of them (cleared by a good refresh). */
  refreshFailures: number
  lastErrorCode: RefreshErrorCode | null
  lastError: string | null
  lastErrorAt: Date | null
}

export interface ConnectionsFilter {
  /** Only these healths; absent or empty: all. */
  health?: readonly ConnectionHealth[]
  /** A part of the client id or the location id, any case. */
  search?: string
}

export interface ConnectionsQuery extends ConnectionsFilter {
  limit: number
  offset?: number
}

export interface ConnectionsPage {
  connections: ConnectionSummary[]
  /** How many match the filter, all pages together. */
  total: number
}

export interface HealthOptions {
  /** An active token expiring sooner than this is `expiring` (the api uses the sweep's horizon). */
  expiringWithinMs: number
  now?: Date
}

export class ConnectionsOverviewRepository {
  constructor (private readonly db: Database) {}

  /** One page of connections, broken first: needs_reauth, location_inactive, then the soonest to expire. */
  async list (query: ConnectionsQuery & HealthOptions): Promise<ConnectionsPage> {
    const rows = await this.db.execute<SummaryRow & { total: number }>(sql`${this.withHealth(query)}
      select *, count(*) over ()::int as total from health where ${where(query)}
      order by case health ${sql.join(connectionHealths.map((h, i) => sql`when ${h} then ${i}`), sql` `)} end,
        expires_at, client_id, id
      limit ${query.limit} offset ${query.offset ?? 0}`)
    if (rows.length > 0) return { connections: rows.map(summary), total: rows[0]!.total }
    // Past the last page (or nothing matches): the total still says how many there are.
    const [count] = await this.db.execute<{ total: number }>(sql`${this.withHealth(query)}
      select count(*)::int as total from health where ${where(query)}`)
    return { connections: [], total: count?.total ?? 0 }
  }

  /** How many connections have each health (every health present, zero when none). */
  async countByHealth (opts: HealthOptions): Promise<Record<ConnectionHealth, number>> {
    const rows = await this.db.execute<{ health: ConnectionHealth, n: number }>(sql`${this.withHealth(opts)}
      select health, count(*)::int as n from health group by health`)
    const counts = Object.fromEntries(connectionHealths.map((h) => [h, 0])) as Record<ConnectionHealth, number>
    for (const row of rows) counts[row.health] = row.n
    return counts
  }

  /** One client's current connection (its active one, else its newest past one) with its health; null for a client that never connected. */
  async findClient (clientId: string, opts: HealthOptions): Promise<ConnectionSummary | null> {
    if (!clientId) return null
    const [row] = await this.db.execute<SummaryRow>(sql`${this.withHealth(opts)}
      select * from health where client_id = ${clientId} limit 1`)
    return row ? summary(row) : null
  }

  private withHealth ({ expiringWithinMs, now = new Date() }: HealthOptions): SQL {
    const horizon = new Date(now.getTime() + expiringWithinMs).toISOString()
    // A client's active row (at most one, by the partial unique index), else its newest past one;
    // plus the active unclaimed installs. Past rows of connected clients are history, not listed.
    return sql`with current_rows as (
      (select * from ghl_integrations where is_active)
      union all
      (select distinct on (client_id) * from ghl_integrations past
        where not is_active and client_id <> ''
          and not exists (select 1 from ghl_integrations a where a.client_id = past.client_id and a.is_active)
        order by client_id, connected_at desc)
    ), health as (
      -- An agency's own connection (issue 11) has no client and no location: named by its company;
      -- its access token is renewed when used (minting), so only a refused refresh token is news.
      select id, client_id, case when user_type = 'Company' then 'agency:' || coalesce(company_id, '') else location_id end as location_id,
        case when user_type = 'Company' then coalesce(location_name, 'Agency connection') else location_name end as location_name, status, is_active, expires_at, last_refreshed_at, connected_at,
        refresh_failures, last_error_code, last_error, last_error_at,
        case
          when not is_active then 'disconnected'
          when user_type = 'Company' and status = 'needs_reauth' then 'needs_reauth'
          when user_type = 'Company' then 'active'
          when client_id = '' then 'unclaimed'
          when status = 'needs_reauth' then 'needs_reauth'
          when status = 'location_inactive' then 'location_inactive'
          when expires_at < ${horizon}::timestamptz then 'expiring'
          else 'active'
        end as health
      from current_rows
    )`
  }
}

function where ({ health, search }: ConnectionsFilter): SQL {
  const conditions: SQL[] = [sql`true`]
  if (health && health.length > 0) conditions.push(sql`health in (${sql.join(health.map((h) => sql`${h}`), sql`, `)})`)
  if (search) {
    const pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    conditions.push(sql`(client_id ilike ${pattern} or location_id ilike ${pattern})`)
  }
  return sql.join(conditions, sql` and `)
}

interface SummaryRow extends Record<string, unknown> {
  id: string
  client_id: string
  location_id: string
  location_name: string | null
  health: ConnectionHealth
  status: IntegrationStatus
  is_active: boolean
  expires_at: string | Date
  last_refreshed_at: string | Date | null
  connected_at: string | Date
  refresh_failures: number
  last_error_code: RefreshErrorCode | null
  last_error: string | null
  last_error_at: string | Date | null
}

// A raw query's timestamps arrive as PostgreSQL's text.
const date = (v: string | Date): Date => v instanceof Date ? v : new Date(v)
const dateOrNull = (v: string | Date | null): Date | null => v === null ? null : date(v)

function summary (r: SummaryRow): ConnectionSummary {
  return {
    integrationId: r.id,
    clientId: r.client_id,
    locationId: r.location_id,
    locationName: r.location_name,
    health: r.health,
    status: r.status,
    isActive: r.is_active,
    expiresAt: date(r.expires_at),
    lastRefreshedAt: dateOrNull(r.last_refreshed_at),
    connectedAt: date(r.connected_at),
    refreshFailures: r.refresh_failures,
    lastErrorCode: r.last_error_code,
    lastError: r.last_error,
    lastErrorAt: dateOrNull(r.last_error_at),
  }
}
