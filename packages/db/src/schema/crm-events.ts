import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

export const crmEventStatuses = ['pending', 'delivered', 'failed'] as const
export type CrmEventStatus = (typeof crmEventStatuses)[number]

/**
 * The events outbox: every event for the CRM, written in the same transaction as the change it
 * reports where there is one. The id is deterministic (`<type>-<subject>`), so recording an event
 * twice is one row; Redis only carries the id of the next delivery to try.
 */
export const crmEvents = pgTable('crm_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  status: text('status', { enum: crmEventStatuses }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  /** When the next delivery is due; the reconciler re-queues a pending event past it whose job is gone. */
  nextAt: timestamp('next_at', { withTimezone: true }).notNull().defaultNow(),
  lastError: text('last_error'),
  occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
}, (t) => [
  // The reconciler reads only events still to deliver...
  index('crm_events_pending').on(t.nextAt).where(sql`status = 'pending'`),
  // ...and retention only delivered ones, oldest first.
  index('crm_events_delivered').on(t.deliveredAt).where(sql`status = 'delivered'`),
  check('crm_events_status_known', sql`status in ('pending', 'delivered', 'failed')`),
])

export type CrmEventRow = typeof crmEvents.$inferSelect
