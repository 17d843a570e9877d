import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * Connect links that have connected a client: a link is single-use, so a leaked or forwarded
 * link cannot silently replace the connection later. Keyed by a hash of the link's signature
 * (the link itself is a bearer credential and is never stored); kept until the link expires.
 */
export const usedConnectLinks = pgTable('used_connect_links', {
  linkHash: text('link_hash').primaryKey(),
  clientId: text('client_id').notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
}, (t) => [
  index('used_connect_links_expiry').on(t.expiresAt),
])
