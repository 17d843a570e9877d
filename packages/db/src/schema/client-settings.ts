import { sql } from 'drizzle-orm'
import { check, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * What a CRM client set for its SMS (PUT /api/clients/:clientId/settings): quiet hours, when no
 * SMS goes out (local "HH:MM" times in an IANA time zone), and the sender number used when a
 * message names none. No row: neither.
 */
export const clientSettings = pgTable('client_settings', {
  clientId: text('client_id').primaryKey(),
  quietHoursStart: text('quiet_hours_start'),
  quietHoursEnd: text('quiet_hours_end'),
  quietHoursTimeZone: text('quiet_hours_time_zone'),
  defaultFromNumber: text('default_from_number'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, () => [
  check('client_settings_quiet_hours_whole', sql`num_nonnulls(quiet_hours_start, quiet_hours_end, quiet_hours_time_zone) in (0, 3)`),
])

export type ClientSettingsRow = typeof clientSettings.$inferSelect
