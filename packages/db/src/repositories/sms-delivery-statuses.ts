/**
 * Delivery statuses HighLevel reports for sent SMS, by HighLevel's message id. A report for a
 * message the outbox already records as sent updates its row; a report that arrives before the
 * worker's own `sent` write (HighLevel's webhook can be faster than our commit) is kept in
 * `early_delivery_statuses` and applied by `markSent` in its transaction.
 *
 * The two sides never miss each other, without a lock on the worker's hot path: each writes
 * first and looks second (write-then-read). The webhook commits the kept report, then looks again
 * for the row; `markSent` commits the row's message id, then looks for a kept report. Whichever
 * looks last sees the other's committed write, so at least one of them finds the pair; both may,
 * and taking the kept report is a DELETE ... RETURNING under the message id's advisory lock, so
 * exactly one applies it. The common case (no early report) costs `markSent` one indexed read.
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

  private readonly earlyKept

  constructor (private readonly db: Database, private readonly events: CrmEventsRepository | null = null) {
    this.earlyKept = db.select({ ghlMessageId: earlyDeliveryStatuses.ghlMessageId }).from(earlyDeliveryStatuses)
      .where(sql`${earlyDeliveryStatuses.ghlMessageId} = any(${sql.placeholder('ghlMessageIds')}::text[])`).prepare('early_delivery_kept_any')
  }

  /** Applies HighLevel's report to the outbox row with its message id, or keeps it for the `sent` write to come. */
  async report (report: DeliveryReport): Promise<DeliveryOutcome> {
    const outcome = await this.applyOrKeep(report)
    if (outcome.kind !== 'kept') return outcome
    // Kept and committed: a `sent` write that committed meanwhile may have looked before our
    // report was there, so look again now (write-then-read, the header).
    const [held] = await this.db.select({ id: smsMessages.id }).from(smsMessages).where(eq(smsMessages.ghlMessageId, report.ghlMessageId)).limit(1)
    if (!held) return outcome
    const taken = await this.takeEarly(held.id, report.ghlMessageId)
    return taken ? { kind: 'applied', ...taken } : outcome
  }

  /**
   * After a `sent` write committed the row's HighLevel message id: applies a report that arrived
   * first, if one is kept (one indexed read when none is, the common case). null: none was, or
   * the other side took it.
   */
  async afterSent (message: SmsMessageRow): Promise<{ message: SmsMessageRow, eventId: string | null } | null> {
    return (await this.afterSentMany([message])).get(message.id) ?? null
  }

  /** `afterSent` for the rows of one grouped `sent` write: one read for all of them; by row id, those a kept report was applied to. */
  async afterSentMany (messages: SmsMessageRow[]): Promise<Map<string, { message: SmsMessageRow, eventId: string | null }>> {
    const applied = new Map<string, { message: SmsMessageRow, eventId: string | null }>()
    const sent = messages.filter((m): m is SmsMessageRow & { ghlMessageId: string } => m.ghlMessageId !== null)
    if (sent.length === 0) return applied
    const kept = new Set((await this.earlyKept.execute({ ghlMessageIds: sent.map((m) => m.ghlMessageId) })).map((k) => k.ghlMessageId))
    for (const message of sent) {
      if (!kept.has(message.ghlMessageId)) continue
      const taken = await this.takeEarly(message.id, message.ghlMessageId)
      if (taken) applied.set(message.id, taken)
    }
    return applied
  }

  /** Takes the kept report off (only one side can) and applies it to row `id`, under the message id's lock. */
  private async takeEarly (id: string, ghlMessageId: string): Promise<{ message: SmsMessageRow, eventId: string | null } | null> {
    return this.db.transaction(async (tx) => {
      await lockGhlMessage(tx, ghlMessageId)
      const [early] = await tx.delete(earlyDeliveryStatuses).where(eq(earlyDeliveryStatuses.ghlMessageId, ghlMessageId)).returning()
      if (!early) return null
      const applied = await applyReport(tx, id, { ...early, ghlMessageId })
      if (!applied) return null
      return { message: applied, eventId: await this.recordEvent(applied, tx) }
    })
  }

  private async applyOrKeep (report: DeliveryReport): Promise<DeliveryOutcome> {
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
