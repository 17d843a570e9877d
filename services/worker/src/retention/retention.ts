/**
 * Retention: history older than its configured age is deleted, a bounded batch per statement
 * with a pause between batches, so the job never holds many row locks or starves the sending
 * path's queries. SMS that are still queued or sending are never touched, nor events not yet
 * delivered.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { RetentionKind, RetentionRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'

const DAY_MS = 86_400_000

export interface RetentionAges {
  smsDays: number
  eventsDays: number
  webhookReceiptsDays: number
}

export interface RetentionResult { deleted: Record<RetentionKind, number>, batches: number }

export class Retention {
  constructor (
    private readonly history: RetentionRepository,
    private readonly logger: Logger,
    private readonly opts: RetentionAges & { batchSize: number, pauseMs: number },
  ) {}

  async run (now = Date.now()): Promise<RetentionResult> {
    const { smsDays, eventsDays, webhookReceiptsDays } = this.opts
    const cutoffs: Record<RetentionKind, Date> = {
      sms: new Date(now - smsDays * DAY_MS),
      events: new Date(now - eventsDays * DAY_MS),
      webhookReceipts: new Date(now - webhookReceiptsDays * DAY_MS),
      // Spent connect links and claim codes are worth nothing once expired; a day's margin keeps
      // "expired" answers (instead of "unknown") for a while.
      connectLinks: new Date(now - DAY_MS),
      claimCodes: new Date(now - DAY_MS),
      // A delivery report waits for our `sent` write seconds, not days.
      earlyDeliveryStatuses: new Date(now - DAY_MS),
    }
    const result: RetentionResult = { deleted: { sms: 0, events: 0, webhookReceipts: 0, connectLinks: 0, claimCodes: 0, earlyDeliveryStatuses: 0 }, batches: 0 }
    for (const [kind, before] of Object.entries(cutoffs) as Array<[RetentionKind, Date]>) {
      for (;;) {
        const deleted = await this.history.deleteBatch(kind, before, this.opts.batchSize)
        result.batches++
        result.deleted[kind] += deleted
        if (deleted < this.opts.batchSize) break
        await sleep(this.opts.pauseMs)
      }
    }
    if (Object.values(result.deleted).some((n) => n > 0)) this.logger.info(result, 'retention deleted old history')
    return result
  }
}
