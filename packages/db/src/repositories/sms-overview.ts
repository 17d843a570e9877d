/** What ops see of a client's SMS (`pnpm ghl clients show`): counts, never a text or a number. */
import { and, eq, gte, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { smsMessages, smsStatuses, type SmsStatus } from '../schema/index.ts'

export class SmsOverviewRepository {
  constructor (private readonly db: Database) {}

  /** The client's SMS asked for since `since`, by status (served by the (client, created) index). */
  async countsByStatus (clientId: string, since: Date): Promise<Record<SmsStatus, number>> {
    const rows = await this.db.select({ status: smsMessages.status, count: sql<number>`count(*)::int` }).from(smsMessages)
      .where(and(eq(smsMessages.clientId, clientId), gte(smsMessages.createdAt, since))).groupBy(smsMessages.status)
    const counts = Object.fromEntries(smsStatuses.map((s) => [s, 0])) as Record<SmsStatus, number>
    for (const row of rows) counts[row.status] = row.count
    return counts
  }
}
