import { and, asc, eq, gt, inArray, lt, or, sql } from 'drizzle-orm'
import type { Database, Transaction } from '../database.ts'
import type { CrmEvent, CrmEventType, NewCrmEvent } from '../domain/crm-events.ts'
import { crmEvents, type CrmEventRow } from '../schema/index.ts'

export interface DueCrmEvent { id: string, nextAt: Date }

/** The events outbox: what the CRM must hear, until it has. */
export class CrmEventsRepository {
  constructor (private readonly db: Database) {}

  /** Records the event once: its id names what it reports, so a repeat changes nothing. True when this call wrote it. */
  async record (event: NewCrmEvent, tx: Database | Transaction = this.db): Promise<boolean> {
    const rows = await tx.insert(crmEvents).values({ id: event.id, type: event.type, payload: event.data, occurredAt: event.occurredAt })
      .onConflictDoNothing().returning({ id: crmEvents.id })
    return rows.length === 1
  }

  /** `record` for several events in one statement (the worker's grouped `sent` writes). */
  async recordMany (events: NewCrmEvent[], tx: Database | Transaction = this.db): Promise<void> {
    if (events.length === 0) return
    await tx.insert(crmEvents).values(events.map((event) => ({ id: event.id, type: event.type, payload: event.data, occurredAt: event.occurredAt })))
      .onConflictDoNothing()
  }

  /** Which of these ids the outbox holds (gap filling skips what a webhook already reported). */
  async existing (ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const rows = await this.db.select({ id: crmEvents.id }).from(crmEvents).where(inArray(crmEvents.id, ids))
    return new Set(rows.map((r) => r.id))
  }

  async findById (id: string): Promise<CrmEventRow | null> {
    const [row] = await this.db.select().from(crmEvents).where(eq(crmEvents.id, id)).limit(1)
    return row ?? null
  }

  async markDelivered (id: string, now = new Date()): Promise<boolean> {
    const rows = await this.db.update(crmEvents).set({ status: 'delivered', attempts: sql`${crmEvents.attempts} + 1`, deliveredAt: now, lastError: null })
      .where(and(eq(crmEvents.id, id), eq(crmEvents.status, 'pending'))).returning({ id: crmEvents.id })
    return rows.length === 1
  }

  /** A delivery that did not get a 2xx: counted, due again at `nextAt`, or `failed` for good when `giveUp`. */
  async recordFailedAttempt (id: string, error: string, next: { nextAt: Date } | { giveUp: true }): Promise<CrmEventRow | null> {
    const [row] = await this.db.update(crmEvents).set({
      attempts: sql`${crmEvents.attempts} + 1`,
      lastError: error.slice(0, 500),
      ...('giveUp' in next ? { status: 'failed' as const } : { nextAt: next.nextAt }),
    }).where(and(eq(crmEvents.id, id), eq(crmEvents.status, 'pending'))).returning()
    return row ?? null
  }

  /** One page of pending events due before `before`, in (nextAt, id) order; served by the partial pending index. */
  async listDue (opts: { before: Date, limit: number, after?: DueCrmEvent }): Promise<DueCrmEvent[]> {
    const t = crmEvents
    const after = opts.after ? or(gt(t.nextAt, opts.after.nextAt), and(eq(t.nextAt, opts.after.nextAt), gt(t.id, opts.after.id))) : undefined
    return this.db.select({ id: t.id, nextAt: t.nextAt }).from(t)
      .where(and(eq(t.status, 'pending'), lt(t.nextAt, opts.before), after))
      .orderBy(asc(t.nextAt), asc(t.id)).limit(opts.limit)
  }
}

/** The body the CRM receives for a stored event: the same JSON whichever process delivers it, however often. */
export const crmEventBody = (row: CrmEventRow): CrmEvent => ({
  id: row.id, type: row.type as CrmEventType, occurredAt: row.occurredAt.toISOString(), data: row.payload,
})
