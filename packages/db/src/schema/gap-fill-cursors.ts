import { doublePrecision, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * Where gap filling (services/worker/src/gap-fill/) stands in each location's message export:
 * HighLevel retries a webhook only when we answer 429, so a reply or delivery report lost on the
 * way is found there instead. One row per location that had traffic; a quiet location has none
 * and costs nothing.
 */
export const gapFillCursors = pgTable('gap_fill_cursors', {
  locationId: text('location_id').primaryKey(),
  /** Every message created before this was read in a complete pass (the export's createdAt, HighLevel's clock). */
  readUntil: timestamp('read_until', { withTimezone: true }),
  /** A pass that ran out of budget: where it started, and HighLevel's cursor for its next page. */
  passFrom: timestamp('pass_from', { withTimezone: true }),
  pageCursor: text('page_cursor'),
  /** The location's gap-filling budget, a token bucket: calls left, as of `budgetAt`. */
  budgetCalls: doublePrecision('budget_calls').notNull(),
  budgetAt: timestamp('budget_at', { withTimezone: true }).notNull().defaultNow(),
  /** The newest message seen for the location (a reply's webhook, or the export). */
  lastTrafficAt: timestamp('last_traffic_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export type GapFillCursorRow = typeof gapFillCursors.$inferSelect
