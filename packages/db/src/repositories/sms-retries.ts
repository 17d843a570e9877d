/**
 * Ops sending failed messages again, SMS and email alike (`pnpm ghl sms retry-failed`): failed rows go back to `queued` with
 * a fresh retry budget. One conditional UPDATE claims each row, so of two runs at once each
 * message goes to exactly one of them (the one that queues its job).
 */
import { and, eq, gte, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { smsMessages, type MessageChannel } from '../schema/index.ts'

/** HighLevel may have sent these: sending again could deliver the SMS twice, so they are never retried by bulk. */
export const UNKNOWN_OUTCOME_CODE = 'delivery_unknown'

/** `sendAt`: a scheduled message keeps its time (its job waits until then when it is still ahead). */
export interface RequeuedSms { id: string, clientId: string, sendAt: Date | null, channel: MessageChannel }

export class SmsRetriesRepository {
  constructor (private readonly db: Database) {}

  /**
   * The client's failed SMS asked for since `createdSince`, back to `queued` with attempts and the
   * retry clock reset and the last error cleared; those whose delivery is unknown stay failed
   * (`skippedUnknown` counts them).
   */
  async requeueFailed (clientId: string, createdSince: Date, channel?: MessageChannel): Promise<{ requeued: RequeuedSms[], skippedUnknown: number }> {
    const m = smsMessages
    const now = new Date()
    const inScope = and(eq(m.clientId, clientId), eq(m.status, 'failed'), gte(m.createdAt, createdSince), channel ? eq(m.channel, channel) : undefined)
    const requeued = await this.db.update(m).set({
      status: 'queued',
      attempts: 0,
      retryingSince: null,
      attemptId: null,
      attemptStartedAt: null,
      outcomeUnknownAt: null,
      errorCode: null,
      errorMessage: null,
      updatedAt: now,
    }).where(and(inScope, sql`${m.errorCode} is distinct from ${UNKNOWN_OUTCOME_CODE}`))
      .returning({ id: m.id, clientId: m.clientId, sendAt: m.sendAt, channel: m.channel })
    const [unknown] = await this.db.select({ count: sql<number>`count(*)::int` }).from(m)
      .where(and(inScope, eq(m.errorCode, UNKNOWN_OUTCOME_CODE)))
    return { requeued, skippedUnknown: unknown?.count ?? 0 }
  }
}
