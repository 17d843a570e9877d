import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

/**
 * Client access tokens: least-privilege credentials for what acts for one client (an assistant,
 * a widget, the client's own integration), minted by the CRM (POST /api/clients/:clientId/access-tokens
 * or `pnpm ghl tokens create`). The token itself is shown once and never stored: only a keyed
 * hash of it (packages/access-tokens). The id is part of the token, so checking one is one read
 * by primary key. A revoked token keeps its row (revoked_at) so the list and the logs agree.
 */
export const clientAccessTokens = pgTable('client_access_tokens', {
  id: uuid('id').primaryKey(),
  clientId: text('client_id').notNull(),
  name: text('name').notNull(),
  scopes: text('scopes').array().notNull(),
  secretHash: text('secret_hash').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3 }),
  revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
}, (t) => [
  index('client_access_tokens_client').on(t.clientId, t.createdAt),
])

export type ClientAccessTokenRow = typeof clientAccessTokens.$inferSelect
