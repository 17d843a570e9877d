/**
 * Puts SMS send jobs on the queue: the api's intake and the worker's outbox reconciler both come
 * through here, so the job id and the fairness rule live in one place.
 *
 * Fairness: a job's BullMQ priority is its client's backlog at the time it is queued (1 for a
 * client with nothing waiting, 2000 for the 2000th of a burst). BullMQ takes the lowest number
 * first and keeps FIFO among equals, so each client's messages stay in order while a quiet
 * client's single SMS goes ahead of a busy client's backlog instead of waiting behind all of it.
 */
import type { Redis, Result } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import { jobIds, jobStateOf, type JobState, type SmsSendJob, type TypedQueue } from './index.ts'

/** BullMQ's largest priority. */
const MAX_PRIORITY = 2 ** 21 - 1
/** A backlog counter nobody touches for this long is stale (its jobs were lost with Redis): start over. */
const BACKLOG_TTL_MS = 6 * 3600_000

// One call each (EVALSHA, the script sent once per connection), not a MULTI of two commands or
// the script's text with every call.
const COUNT = `local v = redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], ARGV[1]) return v`
// Never below zero: a message settled after Redis lost the counter must not make it negative.
const SETTLE = `local v = redis.call('decr', KEYS[1]) if v <= 0 then redis.call('del', KEYS[1]) return 0 end return v`

export type SmsJobState = JobState

export class SmsDispatcher {
  constructor (
    private readonly queue: TypedQueue<'sms'>,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    if (!redis.smsBacklogCount) redis.defineCommand('smsBacklogCount', { numberOfKeys: 1, lua: COUNT })
    if (!redis.smsBacklogSettle) redis.defineCommand('smsBacklogSettle', { numberOfKeys: 1, lua: SETTLE })
  }

  /** Queues the send job of a message already written to the outbox; `requestId` travels with the job into the worker's log. */
  async enqueue (message: { id: string, clientId: string }, trace: { requestId?: string } = {}): Promise<{ priority: number }> {
    const backlog = Number(await this.redis.smsBacklogCount(this.keys.smsBacklog(message.clientId), BACKLOG_TTL_MS))
    const priority = Math.min(MAX_PRIORITY, Math.max(1, backlog))
    const job: SmsSendJob = trace.requestId ? { messageId: message.id, requestId: trace.requestId } : { messageId: message.id }
    await this.queue.add('send', job, { jobId: jobIds.smsSend(message.id), priority })
    return { priority }
  }

  /** The worker calls this once a message left the queue for good (sent or failed). */
  async settled (clientId: string): Promise<void> {
    await this.redis.smsBacklogSettle(this.keys.smsBacklog(clientId))
  }

  /** What BullMQ holds for a message's job, as the reconciler needs to know it. */
  async jobState (messageId: string): Promise<SmsJobState> {
    return jobStateOf(this.queue, jobIds.smsSend(messageId))
  }

  /** Drops a finished job so the message can be queued again under the same id. */
  async removeJob (messageId: string): Promise<void> {
    await this.queue.remove(jobIds.smsSend(messageId))
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    smsBacklogCount: (key: string, ttlMs: number) => Result<number, Context>
    smsBacklogSettle: (key: string) => Result<number, Context>
  }
}
