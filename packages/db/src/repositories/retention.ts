import { and, asc, eq, inArray, lt, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Database } from '../database.ts'
import { crmEvents, earlyDeliveryStatuses, installClaimCodes, smsFinishedStatuses, smsMessages, usedConnectLinks, webhookReceipts } from '../schema/index.ts'

interface Target { table: PgTable, key: PgColumn, age: PgColumn, only?: SQL }

/** What retention deletes: each table's key, the age column its index orders, and which rows may go at all. */
const targets = {
  // Only finished messages: a queued or sending one is never history, however old.
  sms: { table: smsMessages, key: smsMessages.id, age: smsMessages.updatedAt, only: inArray(smsMessages.status, [...smsFinishedStatuses]) },
  events: { table: crmEvents, key: crmEvents.id, age: crmEvents.deliveredAt, only: eq(crmEvents.status, 'delivered') },
  webhookReceipts: { table: webhookReceipts, key: webhookReceipts.webhookId, age: webhookReceipts.receivedAt },
  connectLinks: { table: usedConnectLinks, key: usedConnectLinks.linkHash, age: usedConnectLinks.expiresAt },
  claimCodes: { table: installClaimCodes, key: installClaimCodes.locationId, age: installClaimCodes.expiresAt },
  // Delivery reports no outbox row claimed: SMS the location sent without us.
  earlyDeliveryStatuses: { table: earlyDeliveryStatuses, key: earlyDeliveryStatuses.ghlMessageId, age: earlyDeliveryStatuses.receivedAt },
} satisfies Record<string, Target>

export type RetentionKind = keyof typeof targets

/**
 * Deletes old history a batch at a time: each statement picks at most `limit` rows by an index
 * range scan on the age column (oldest first) and deletes them by primary key, so no statement
 * holds many locks or runs long, and the caller can pause between batches.
 */
export class RetentionRepository {
  constructor (private readonly db: Database) {}

  /** Deletes up to `limit` rows of `kind` older than `before`; returns how many went. */
  async deleteBatch (kind: RetentionKind, before: Date, limit: number): Promise<number> {
    const { table, key, age, only }: Target = targets[kind]
    const oldest = this.db.select({ key }).from(table).where(and(only, lt(age, before))).orderBy(asc(age)).limit(limit)
    const deleted = await this.db.delete(table).where(inArray(key, oldest)).returning({ key })
    return deleted.length
  }
}
