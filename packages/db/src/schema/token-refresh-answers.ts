import { integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { ghlIntegrations } from './integrations.ts'

/**
 * HighLevel's answers to refreshes, kept from the moment they arrive until the version-checked
 * write of the integration lands: HighLevel has already spent the old refresh token, so a crash or
 * a failed write in between would otherwise disconnect the client. Keyed by the token version the
 * answer replaces (versions only grow, so an answer for a past version is spent and removable).
 * The pair is sealed as one ciphertext, the same form Redis keeps when PostgreSQL does not answer.
 */
export const tokenRefreshAnswers = pgTable('token_refresh_answers', {
  integrationId: uuid('integration_id').notNull().references(() => ghlIntegrations.id, { onDelete: 'cascade' }),
  replacesVersion: integer('replaces_version').notNull(),
  sealed: text('sealed').notNull(),
  keptAt: timestamp('kept_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  primaryKey({ columns: [t.integrationId, t.replacesVersion] }),
])
