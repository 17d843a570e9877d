import { boolean, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * A contact's SMS do-not-disturb as HighLevel's latest `ContactDndUpdate` webhook said it, per
 * location and contact. `changedAt` is the webhook's own timestamp: a delivery that arrives late
 * (HighLevel retries after a 429) never overwrites a newer one.
 */
export const contactDnd = pgTable('contact_dnd', {
  locationId: text('location_id').notNull(),
  contactId: text('contact_id').notNull(),
  /** Whether an SMS to this contact is refused (global DND, or the SMS channel's). */
  smsDnd: boolean('sms_dnd').notNull(),
  /** Whether an email to this contact is refused (global DND, or the Email channel's); null from a row written before email. */
  emailDnd: boolean('email_dnd'),
  changedAt: timestamp('changed_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  primaryKey({ columns: [t.locationId, t.contactId] }),
])

export type ContactDndRow = typeof contactDnd.$inferSelect
