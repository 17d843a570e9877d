import { eq } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { webhookReceipts } from '../schema/index.ts'

export class WebhookReceiptsRepository {
  constructor (private readonly db: Database) {}

  async seen (webhookId: string): Promise<boolean> {
    const rows = await this.db.select({ webhookId: webhookReceipts.webhookId }).from(webhookReceipts)
      .where(eq(webhookReceipts.webhookId, webhookId)).limit(1)
    return rows.length === 1
  }

  /** Records a webhook once; false when this webhookId was already received (a replay). */
  async recordOnce (receipt: { webhookId: string, type: string, locationId?: string | null, companyId?: string | null }): Promise<boolean> {
    const rows = await this.db.insert(webhookReceipts).values({
      webhookId: receipt.webhookId,
      type: receipt.type,
      locationId: receipt.locationId ?? null,
      companyId: receipt.companyId ?? null,
    }).onConflictDoNothing().returning({ webhookId: webhookReceipts.webhookId })
    return rows.length === 1
  }
}
