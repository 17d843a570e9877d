import { and, eq, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { contactDnd } from '../schema/index.ts'

/**
 * One contact's do-not-disturb at one location, as read beside its message (`findWithStamp`);
 * null for a channel HighLevel never reported.
 */
export interface ContactDndRead { locationId: string, contactId: string, smsDnd: boolean | null, emailDnd: boolean | null }

/** Contacts' SMS and email do-not-disturb from HighLevel's `ContactDndUpdate` webhooks: the latest by the webhook's timestamp wins. */
export class ContactDndRepository {
  private readonly hot

  constructor (private readonly db: Database) {
    // Read before every SMS's POST: built once.
    this.hot = {
      smsDnd: db.select({ smsDnd: contactDnd.smsDnd }).from(contactDnd)
        .where(and(eq(contactDnd.locationId, sql.placeholder('locationId')), eq(contactDnd.contactId, sql.placeholder('contactId'))))
        .limit(1).prepare('contact_sms_dnd'),
      emailDnd: db.select({ emailDnd: contactDnd.emailDnd }).from(contactDnd)
        .where(and(eq(contactDnd.locationId, sql.placeholder('locationId')), eq(contactDnd.contactId, sql.placeholder('contactId'))))
        .limit(1).prepare('contact_email_dnd'),
    }
  }

  /** Keeps `smsDnd` as of `changedAt` unless a newer (or equally new) one is stored; false when it was older and ignored. */
  async record (update: { locationId: string, contactId: string, smsDnd: boolean, emailDnd?: boolean | null, changedAt: Date }): Promise<boolean> {
    const rows = await this.db.insert(contactDnd).values({ ...update, updatedAt: new Date() })
      .onConflictDoUpdate({
        target: [contactDnd.locationId, contactDnd.contactId],
        set: { smsDnd: sql`excluded.sms_dnd`, emailDnd: sql`excluded.email_dnd`, changedAt: sql`excluded.changed_at`, updatedAt: sql`excluded.updated_at` },
        setWhere: sql`${contactDnd.changedAt} < excluded.changed_at`,
      }).returning({ contactId: contactDnd.contactId })
    return rows.length === 1
  }

  /** The contact's SMS DND as last reported, or null when HighLevel never told us. */
  async smsDnd (locationId: string, contactId: string): Promise<boolean | null> {
    const [row] = await this.hot.smsDnd.execute({ locationId, contactId })
    return row?.smsDnd ?? null
  }

  /** The contact's email DND as last reported, or null when HighLevel never told us. */
  async emailDnd (locationId: string, contactId: string): Promise<boolean | null> {
    const [row] = await this.hot.emailDnd.execute({ locationId, contactId })
    return row?.emailDnd ?? null
  }
}
