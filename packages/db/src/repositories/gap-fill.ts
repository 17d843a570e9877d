/**
 * What gap filling reads and keeps (services/worker/src/gap-fill/): which locations had traffic
 * lately, each one's cursor in HighLevel's message export and its budget, the outbox rows whose
 * delivery status HighLevel has not reported, and the pending ones past the timeout.
 */
import { and, asc, eq, gt, inArray, isNotNull, lt, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { gapFillCursors, ghlIntegrations, smsMessages, type DeliveryStatus, type GapFillCursorRow } from '../schema/index.ts'

export interface TrafficLocation { integrationId: string, clientId: string, locationId: string }

export interface GapFillCursor {
  readUntil: Date | null
  passFrom: Date | null
  pageCursor: string | null
}

export interface OverduePending { id: string, clientId: string, ghlMessageId: string, locationId: string }

const FULL = 1e9

export class GapFillRepository {
  constructor (private readonly db: Database) {}

  /**
   * Active, claimed locations with a message sent since `since` (the outbox) or a message seen
   * since then (a reply's webhook, or an earlier pass of the export). Everything else is quiet.
   */
  async trafficLocations (since: Date): Promise<TrafficLocation[]> {
    const rows = await this.db.execute<{ integration_id: string, client_id: string, location_id: string }>(sql`
      select i.id as integration_id, i.client_id, i.location_id from ghl_integrations i
      where i.is_active and i.client_id is not null and i.client_id <> '' and (
        exists (select 1 from sms_messages m where m.client_id = i.client_id and m.created_at > ${since.toISOString()}::timestamptz)
        or exists (select 1 from gap_fill_cursors c where c.location_id = i.location_id and c.last_traffic_at > ${since.toISOString()}::timestamptz))
      order by i.location_id`)
    return rows.map((r) => ({ integrationId: r.integration_id, clientId: r.client_id, locationId: r.location_id }))
  }

  /** A message was seen for the location (a reply's webhook): it counts as traffic for gap filling. */
  async noteTraffic (locationId: string, at: Date): Promise<void> {
    // A new location's bucket starts full (takeCall caps it at its burst).
    await this.db.insert(gapFillCursors).values({ locationId, lastTrafficAt: at, budgetCalls: FULL })
      .onConflictDoUpdate({
        target: gapFillCursors.locationId,
        set: { lastTrafficAt: sql`greatest(${gapFillCursors.lastTrafficAt}, excluded.last_traffic_at)` },
        // Most replies land on a row that already says as much: no write then.
        setWhere: sql`${gapFillCursors.lastTrafficAt} is null or ${gapFillCursors.lastTrafficAt} < excluded.last_traffic_at`,
      })
  }

  async cursorOf (locationId: string): Promise<GapFillCursorRow | null> {
    const [row] = await this.db.select().from(gapFillCursors).where(eq(gapFillCursors.locationId, locationId)).limit(1)
    return row ?? null
  }

  /**
   * Takes one call from the location's bucket (`perDay` calls a day, at most `burst` saved up);
   * false when it is empty. Serialised on the row, so two workers cannot spend one call twice.
   */
  async takeCall (locationId: string, perDay: number, burst: number): Promise<boolean> {
    const perMs = perDay / 86_400_000
    const rows = await this.db.execute<{ taken: boolean }>(sql`
      insert into gap_fill_cursors (location_id, budget_calls, budget_at) values (${locationId}, ${burst - 1}, now())
      on conflict (location_id) do update set
        budget_calls = least(${burst}::float8, gap_fill_cursors.budget_calls + extract(epoch from now() - gap_fill_cursors.budget_at) * 1000 * ${perMs}::float8) - 1,
        budget_at = now()
      where least(${burst}::float8, gap_fill_cursors.budget_calls + extract(epoch from now() - gap_fill_cursors.budget_at) * 1000 * ${perMs}::float8) >= 1
      returning true as taken`)
    return rows.length === 1
  }

  /** Where the pass stands after a page: finished (`readUntil` moves on, the pass is forgotten) or to go on from `pageCursor`. */
  async savePass (locationId: string, pass: GapFillCursor & { lastTrafficAt: Date | null }): Promise<void> {
    await this.db.update(gapFillCursors).set({
      readUntil: pass.readUntil,
      passFrom: pass.passFrom,
      pageCursor: pass.pageCursor,
      ...(pass.lastTrafficAt ? { lastTrafficAt: sql`greatest(${gapFillCursors.lastTrafficAt}, ${pass.lastTrafficAt.toISOString()}::timestamptz)` } : {}),
      updatedAt: sql`now()`,
    }).where(eq(gapFillCursors.locationId, locationId))
  }

  /** The oldest SMS of the client still `pending` sent after `notBefore` (older ones are the timeout's). */
  async oldestPending (clientId: string, notBefore: Date): Promise<Date | null> {
    const [row] = await this.db.select({ at: sql<Date | null>`min(${smsMessages.sentAt})`.mapWith((v) => (v === null ? null : new Date(v as string))) })
      .from(smsMessages)
      .where(and(eq(smsMessages.clientId, clientId), eq(smsMessages.deliveryStatus, 'pending'), gt(smsMessages.sentAt, notBefore)))
    return row?.at ?? null
  }

  /** The delivery status each of these HighLevel message ids has in the outbox (ids no row holds are left out). */
  async deliveryStatusesOf (ghlMessageIds: string[]): Promise<Map<string, DeliveryStatus | null>> {
    if (ghlMessageIds.length === 0) return new Map()
    const rows = await this.db.select({ ghlMessageId: smsMessages.ghlMessageId, status: smsMessages.deliveryStatus }).from(smsMessages)
      .where(inArray(smsMessages.ghlMessageId, ghlMessageIds))
    return new Map(rows.map((r) => [r.ghlMessageId ?? '', r.status]))
  }

  /** SMS still `pending` that were sent before `before`, oldest first, with the location to ask. */
  async overduePending (before: Date, limit: number): Promise<OverduePending[]> {
    return this.db.select({ id: smsMessages.id, clientId: smsMessages.clientId, ghlMessageId: sql<string>`${smsMessages.ghlMessageId}`, locationId: sql<string>`${ghlIntegrations.locationId}` })
      .from(smsMessages)
      .innerJoin(ghlIntegrations, eq(ghlIntegrations.id, smsMessages.integrationId))
      .where(and(eq(smsMessages.deliveryStatus, 'pending'), lt(smsMessages.sentAt, before), isNotNull(smsMessages.ghlMessageId)))
      .orderBy(asc(smsMessages.sentAt)).limit(limit)
  }
}
