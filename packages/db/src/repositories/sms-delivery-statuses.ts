/**
 * Delivery statuses HighLevel reports for sent SMS, by HighLevel's message id. A report for a
 * message the outbox already records as sent updates its row; a report that arrives before the
 * worker's own `sent` write (HighLevel's webhook can be faster than our commit) is kept in
 * `early_delivery_statuses` and applied by `markSent` in its transaction.
 *
 * The two sides never miss each other: both take a transaction-scoped advisory lock on the
 * HighLevel message id before they look, so whichever comes second sees what the first committed.
 * Which report wins over which: domain/delivery-status.ts. The webhook that reports them:
 * services/api/src/webhooks/sms-delivery-status.ts.
 */
import { eq, sql } from 'drizzle-orm'
import type { Database, Transaction } from '../database.ts'
import { deliveryEvent, supersedes } from '../domain/delivery-status.ts'
import { earlyDeliveryStatuses, smsMessages, type DeliveryStatus, type SmsMessageRow } from '../schema/index.ts'
import type { CrmEventsRepository } from './crm-events.ts'

export interface DeliveryReport {
  ghlMessageId: string
  status: DeliveryStatus
  errorCode: string | null
  errorMessage: string | null
  /** When HighLevel reported it (the webhook's timestamp). */
  reportedAt: Date
}

export type DeliveryOutcome =
  /** The row was updated; `eventId` is the `sms.delivery` recorded with it (null without an events outbox). */
  | { kind: 'applied', message: SmsMessageRow, eventId: string | null }
  /** The row already holds this status or a later one (a repeat, or a report overtaken by a later one). */
  | { kind: 'unchanged' }
  /** No row holds this message id yet: kept for `markSent`. */
  | { kind: 'kept' }

/** Serialises reports and the `sent` write for one HighLevel message id, until the transaction ends. */
export async function lockGhlMessage (tx: Transaction, ghlMessageId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`ghl-message:${ghlMessageId}`}, 0))`)
}

export class SmsDeliveryStatusesRepository {
  constructor (private readonly db: Database, private readonly events: CrmEventsRepository | null = null) {}

  /** Applies HighLevel's report to the outbox row with its message id, or keeps it for the `sent` write to come. */
  async report (report: DeliveryReport): Promise<DeliveryOutcome> {
    return this.db.transaction(async (tx) => {
      await lockGhlMessage(tx, report.ghlMessageId)
      const [held] = await tx.select({ id: smsMessages.id }).from(smsMessages).where(eq(smsMessages.ghlMessageId, report.ghlMessageId)).limit(1)
      if (!held) {
        // The lock makes this read-then-write safe: no other report for this id runs meanwhile.
        const [kept] = await tx.select().from(earlyDeliveryStatuses).where(eq(earlyDeliveryStatuses.ghlMessageId, report.ghlMessageId)).limit(1)
        if (!kept) await tx.insert(earlyDeliveryStatuses).values(earlyRow(report))
        else if (supersedes(report, { status: kept.status, at: kept.reportedAt })) {
          await tx.update(earlyDeliveryStatuses).set(earlyRow(report)).where(eq(earlyDeliveryStatuses.ghlMessageId, report.ghlMessageId))
        }
        return { kind: 'kept' }
      }
      const message = await applyReport(tx, held.id, report)
      if (!message) return { kind: 'unchanged' }
      return { kind: 'applied', message, eventId: await this.recordEvent(message, tx) }
    })
  }

  /**
   * Inside `markSent`'s transaction, once the row holds HighLevel's message id: applies a report
   * that arrived first, and removes it. The caller holds `lockGhlMessage`.
   */
  async applyEarly (tx: Transaction, message: SmsMessageRow): Promise<{ message: SmsMessageRow, eventId: string | null }> {
    if (!message.ghlMessageId) return { message, eventId: null }
    const [early] = await tx.delete(earlyDeliveryStatuses).where(eq(earlyDeliveryStatuses.ghlMessageId, message.ghlMessageId)).returning()
    if (!early) return { message, eventId: null }
    const applied = await applyReport(tx, message.id, { ...early, ghlMessageId: message.ghlMessageId })
    if (!applied) return { message, eventId: null }
    return { message: applied, eventId: await this.recordEvent(applied, tx) }
  }

  private async recordEvent (message: SmsMessageRow, tx: Transaction): Promise<string | null> {
    const event = deliveryEvent(message)
    if (!this.events || !event) return null
    await this.events.record(event, tx)
    return event.id
  }
}

const earlyRow = (r: DeliveryReport) => ({
  ghlMessageId: r.ghlMessageId, status: r.status, errorCode: r.errorCode, errorMessage: r.errorMessage, reportedAt: r.reportedAt,
})

/** Writes the report on row `id` when it supersedes what the row holds; the row, or null when unchanged. */
async function applyReport (tx: Transaction, id: string, report: DeliveryReport): Promise<SmsMessageRow | null> {
  const [current] = await tx.select({ status: smsMessages.deliveryStatus, at: smsMessages.deliveryUpdatedAt }).from(smsMessages)
    .where(eq(smsMessages.id, id)).limit(1)
  if (!current || !supersedes(report, current)) return null
  const [row] = await tx.update(smsMessages).set({
    deliveryStatus: report.status,
    deliveryErrorCode: report.errorCode,
    deliveryErrorMessage: report.errorMessage,
    deliveryUpdatedAt: report.reportedAt,
  }).where(eq(smsMessages.id, id)).returning()
  return row ?? null
}
