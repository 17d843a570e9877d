import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { ghlIntegrations } from './integrations.ts'

/**
 * The fence around spending a refresh token: at most one holder per integration, until
 * `expires_at` by PostgreSQL's clock. It lives beside the tokens, not in Redis, so a Redis
 * failover or FLUSHALL cannot hand the same refresh token to a second spender.
 */
export const tokenRefreshLeases = pgTable('token_refresh_leases', {
  integrationId: uuid('integration_id').primaryKey().references(() => ghlIntegrations.id, { onDelete: 'cascade' }),
  holder: text('holder').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
})
