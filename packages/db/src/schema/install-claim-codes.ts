import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * The one-time claim code of an unclaimed marketplace install: proof that whoever claims the
 * install saw our page after installing it. Only a keyed hash of the code is stored; one row per
 * location (a new install replaces it), a few wrong attempts and it is dead.
 */
export const installClaimCodes = pgTable('install_claim_codes', {
  locationId: text('location_id').primaryKey(),
  codeHash: text('code_hash').notNull(),
  failedAttempts: integer('failed_attempts').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index('install_claim_codes_expiry').on(t.expiresAt),
])

export type InstallClaimCodeRow = typeof installClaimCodes.$inferSelect
