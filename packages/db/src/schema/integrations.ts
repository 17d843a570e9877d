import { sql } from 'drizzle-orm'
import { boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

export const integrationStatuses = ['active', 'needs_reauth', 'location_inactive', 'revoked'] as const
export type IntegrationStatus = (typeof integrationStatuses)[number]

/** How the last refresh failed, as the refresh path classifies HighLevel's answer (packages/tokens). */
export const refreshErrorCodes = ['invalid_grant', 'location_inactive', 'transient'] as const
export type RefreshErrorCode = (typeof refreshErrorCodes)[number]

/** One connection of a CRM client to a HighLevel location. Tokens are stored as ciphertext only. */
export const ghlIntegrations = pgTable('ghl_integrations', {
  id: uuid('id').primaryKey().defaultRandom(),
  // Empty until claimed: installs started from HighLevel's marketplace arrive without a client.
  clientId: text('client_id').notNull().default(''),
  locationId: text('location_id').notNull(),
  companyId: text('company_id'),
  locationName: text('location_name'),
  userType: text('user_type').notNull().default('Location'),
  scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
  accessToken: text('access_token'),
  refreshToken: text('refresh_token'),
  // Millisecond precision, like the JavaScript dates that carry it: the sweep pages by
  // (expires_at, id), and a cursor that lost microseconds would return the same row forever.
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  isActive: boolean('is_active').notNull().default(true),
  status: text('status', { enum: integrationStatuses }).notNull().default('active'),
  tokenVersion: integer('token_version').notNull().default(1),
  // Failed refreshes since the last good one, and the last failure: what ops see on /admin/connections.
  refreshFailures: integer('refresh_failures').notNull().default(0),
  lastError: text('last_error'),
  lastErrorCode: text('last_error_code', { enum: refreshErrorCodes }),
  lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
  // When the refreshes now failing began (null while they succeed): an hour of failures while the
  // access token still works tells the CRM `connection.expiring`, once per failing episode.
  refreshFailingSince: timestamp('refresh_failing_since', { withTimezone: true }),
  lastRefreshedAt: timestamp('last_refreshed_at', { withTimezone: true }),
  lastSyncedAt: timestamp('last_synced_at', { withTimezone: true }),
  connectedAt: timestamp('connected_at', { withTimezone: true }).notNull().defaultNow(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // The database itself refuses a second active connection for one client.
  uniqueIndex('ghl_integrations_one_active_per_client').on(t.clientId).where(sql`is_active and client_id <> ''`),
  // ...and a second client for a location one holds: replies and webhooks for a location reach
  // one client. Unclaimed installs (no client yet) are outside it: connecting supersedes them.
  uniqueIndex('ghl_integrations_one_active_per_location').on(t.locationId).where(sql`is_active and client_id <> ''`),
  // The sweep's one query: refreshable rows by expiry, answered from the index alone (an
  // index-only range scan: the predicate is the index's, and every column it reads is in it).
  index('ghl_integrations_refresh_due').on(t.expiresAt, t.id, t.clientId)
    .where(sql`is_active and client_id <> '' and status <> 'needs_reauth' and refresh_token is not null`),
  // The sweep's agency query: agency (Company) connections by when their refresh token was last
  // renewed, so one unused for AGENCY_REFRESH_DAYS is renewed before its year runs out. Few rows.
  index('ghl_integrations_agency_refresh_due').on(sql`coalesce(last_refreshed_at, connected_at)`, t.id)
    .where(sql`is_active and user_type = 'Company' and status <> 'needs_reauth' and refresh_token is not null`),
  index('ghl_integrations_location').on(t.locationId),
  // A client's past connections, newest first: the sending rule reads them when none is active.
  index('ghl_integrations_client_history').on(t.clientId, t.connectedAt.desc()),
  check('ghl_integrations_status_known', sql`status in ('active', 'needs_reauth', 'location_inactive', 'revoked')`),
])

export type IntegrationRow = typeof ghlIntegrations.$inferSelect
