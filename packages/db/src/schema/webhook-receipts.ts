import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** Every HighLevel webhook accepted once: replay protection and audit. */
export const webhookReceipts = pgTable('webhook_receipts', {
  webhookId: text('webhook_id').primaryKey(),
  type: text('type').notNull(),
  locationId: text('location_id'),
  companyId: text('company_id'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // Retention deletes receipts by age (replays are refused by the 5-minute window long before).
  index('webhook_receipts_received').on(t.receivedAt),
])
