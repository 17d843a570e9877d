/**
 * HighLevel's answer to a send, kept in Redis when PostgreSQL would not take it (down, or
 * restarting). Without it the row stays `sending`, and the attempt that finds it later could only
 * say `delivery_unknown` about an SMS we know was delivered.
 */
import type { Redis } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'

export interface SentIds {
  messageId: string | null
  conversationId: string | null
  /** HighLevel's status in its answer to the send (e.g. `pending`), kept as the delivery status so far. */
  status?: string | null
}

/** HighLevel's answer to one attempt: only that attempt may be recorded sent from it. */
export interface SentReceipt extends SentIds { attemptId: string }

const KEEP_MS = 7 * 86_400_000

export class SentReceipts {
  constructor (private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async remember (outboxId: string, receipt: SentReceipt): Promise<void> {
    await this.redis.set(this.keys.smsSentReceipt(outboxId), JSON.stringify(receipt), 'PX', KEEP_MS)
  }

  async recall (outboxId: string): Promise<SentReceipt | null> {
    const raw = await this.redis.get(this.keys.smsSentReceipt(outboxId))
    return raw ? JSON.parse(raw) as SentReceipt : null
  }

  async forget (outboxId: string): Promise<void> {
    await this.redis.del(this.keys.smsSentReceipt(outboxId))
  }
}
