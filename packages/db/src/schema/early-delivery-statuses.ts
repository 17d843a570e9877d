import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { deliveryStatuses } from './sms-messages.ts'

/**
 * Delivery statuses HighLevel reported for a message id no outbox row holds yet: the webhook can
 * beat the worker's own `sent` write (which records HighLevel's message id). `markSent` applies
 * and removes the row in its transaction. OutboundMessage webhooks also report SMS the location
 * sent without us; those rows are never claimed and retention removes them.
 */
export const earlyDeliveryStatuses = pgTable('early_delivery_statuses', {
  ghlMessageId: text('ghl_message_id').primaryKey(),
  status: text('status', { enum: deliveryStatuses }).notNull(),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  reportedAt: timestamp('reported_at', { withTimezone: true }).notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index('early_delivery_statuses_received').on(t.receivedAt),
])

export type EarlyDeliveryStatusRow = typeof earlyDeliveryStatuses.$inferSelect
