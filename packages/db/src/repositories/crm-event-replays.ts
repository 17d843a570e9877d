/**
 * Ops delivering events to the CRM again (`pnpm ghl events replay`), e.g. after the CRM lost
 * what it had received: delivered events go back to `pending`, due now, under the same ids (the
 * CRM drops one it still has). One conditional UPDATE claims each event, so two runs at once
 * reopen (and queue) each event once.
 */
import { and, eq, gte } from 'drizzle-orm'
import type { Database } from '../database.ts'
import type { CrmEventType } from '../domain/crm-events.ts'
import { crmEvents } from '../schema/index.ts'

export class CrmEventReplaysRepository {
  constructor (private readonly db: Database) {}

  /** Events delivered at or after `deliveredSince` (of `type` when given), back to pending; their ids. */
  async reopenDelivered (deliveredSince: Date, type?: CrmEventType): Promise<string[]> {
    const e = crmEvents
    const rows = await this.db.update(e).set({ status: 'pending', nextAt: new Date(), deliveredAt: null, lastError: null })
      .where(and(eq(e.status, 'delivered'), gte(e.deliveredAt, deliveredSince), type ? eq(e.type, type) : undefined))
      .returning({ id: e.id })
    return rows.map((r) => r.id)
  }
}
