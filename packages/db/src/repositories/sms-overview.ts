/** What ops see of a client's SMS (`pnpm ghl clients show`): counts, never a text or a number. */
import { and, eq, gte, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { messageChannels, smsMessages, smsStatuses, type MessageChannel, type SmsStatus } from '../schema/index.ts'

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

  /**
   * Every client's messages by channel and status, for the connections page: those waiting or
   * being sent now, and those that ended (sent, failed, cancelled) since `since`. Each half is
   * served by a partial index (queued, sending, finished by updated_at): no scan of the history.
   */
  async countsByChannel (since: Date): Promise<Record<MessageChannel, Record<SmsStatus, number>>> {
    const rows = await this.db.execute<{ channel: MessageChannel, status: SmsStatus, n: number }>(sql`
      select channel, status, count(*)::int as n from sms_messages where status = 'queued' group by channel, status
      union all
      select channel, status, count(*)::int as n from sms_messages where status = 'sending' group by channel, status
      union all
      select channel, status, count(*)::int as n from sms_messages
        where status in ('sent', 'failed', 'cancelled') and updated_at >= ${since.toISOString()}::timestamptz group by channel, status`)
    const counts = Object.fromEntries(messageChannels.map((c) => [c, Object.fromEntries(smsStatuses.map((s) => [s, 0]))])) as Record<MessageChannel, Record<SmsStatus, number>>
    for (const row of rows) counts[row.channel][row.status] = row.n
    return counts
  }
}
