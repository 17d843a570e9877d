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
import { jobIds, jobStateOf, type JobState, type SmsSendJob, type TypedQueue } from './contract.ts'

/** BullMQ's largest priority. */
const MAX_PRIORITY = 2 ** 21 - 1
/** A backlog counter nobody touches for this long is stale (its jobs were lost with Redis): start over. */
const BACKLOG_TTL_MS = 6 * 3600_000

// One call each (EVALSHA, the script sent once per connection), not a MULTI of two commands or
// the script's text with every call.
const COUNT = `local v = redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], ARGV[1]) return v`
// Never below zero: a message settled after Redis lost the counter must not make it negative.
// One call for a group of messages (a key once per message, repeated for a client's several), each settled as alone.
const SETTLE = `for _, key in ipairs(KEYS) do if redis.call('decr', key) <= 0 then redis.call('del', key) end end return 0`

export type SmsJobState = JobState

const priorityOf = (backlog: number) => Math.min(MAX_PRIORITY, Math.max(1, backlog))
/** A scheduled message's job waits in BullMQ's delayed set until its time. */
const delayUntil = (sendAt?: Date | null): { delay?: number } => {
  const delay = sendAt ? sendAt.getTime() - Date.now() : 0
  return delay > 0 ? { delay } : {}
}
const sendJob = (messageId: string, trace: { requestId?: string }): SmsSendJob => trace.requestId ? { messageId, requestId: trace.requestId } : { messageId }

export class SmsDispatcher {
  constructor (
    private readonly queue: TypedQueue<'sms'>,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    if (!redis.smsBacklogCount) redis.defineCommand('smsBacklogCount', { numberOfKeys: 1, lua: COUNT })
    if (!redis.smsBacklogSettle) redis.defineCommand('smsBacklogSettle', { lua: SETTLE })
  }

  /**
   * Queues the send job of a message already written to the outbox; `requestId` travels with the
   * job into the worker's log. `sendAt` (a scheduled message): the job waits in BullMQ's delayed set until then.
   */
  async enqueue (message: { id: string, clientId: string, sendAt?: Date | null }, trace: { requestId?: string } = {}): Promise<{ priority: number }> {
    const backlog = Number(await this.redis.smsBacklogCount(this.keys.smsBacklog(message.clientId), BACKLOG_TTL_MS))
    const priority = priorityOf(backlog)
    await this.queue.add('send', sendJob(message.id, trace), { jobId: jobIds.smsSend(message.id), priority, ...delayUntil(message.sendAt) })
    return { priority }
  }

  /**
   * Queues many messages' jobs in one `addBulk` (a batch intake), under the same fairness rule:
   * each client's backlog grows by its count at once, and its messages take the priorities
   * `enqueue` would have given them one by one, in the order given. A message's own `requestId`
   * (the intake's group commit: one per request) goes before `trace`'s.
   */
  async enqueueBulk (messages: Array<{ id: string, clientId: string, sendAt?: Date | null, requestId?: string }>, trace: { requestId?: string } = {}): Promise<void> {
    if (messages.length === 0) return
    const counts = new Map<string, number>()
    for (const m of messages) counts.set(m.clientId, (counts.get(m.clientId) ?? 0) + 1)
    const clients = [...counts.keys()]
    const multi = this.redis.multi()
    for (const clientId of clients) {
      const key = this.keys.smsBacklog(clientId)
      multi.incrby(key, counts.get(clientId) ?? 0).pexpire(key, BACKLOG_TTL_MS)
    }
    const answers = await multi.exec() as Array<[unknown, number]>
    // The backlog before this batch, per client: its first message comes next after it.
    const next = new Map(clients.map((clientId, i) => [clientId, (answers[2 * i]?.[1] ?? 0) - (counts.get(clientId) ?? 0)]))
    await this.queue.addBulk(messages.map((m) => {
      const backlog = (next.get(m.clientId) ?? 0) + 1
      next.set(m.clientId, backlog)
      return { name: 'send' as const, data: sendJob(m.id, m.requestId ? { requestId: m.requestId } : trace), opts: { jobId: jobIds.smsSend(m.id), priority: priorityOf(backlog), ...delayUntil(m.sendAt) } }
    }))
  }

  /** The worker calls this once a message left the queue for good (sent or failed). */
  async settled (clientId: string): Promise<void> {
    await this.settledMany([clientId])
  }

  /** `settled` for several messages (one client id per message) in one script call: every backlog key is in the SMS queue's slot. */
  async settledMany (clientIds: string[]): Promise<void[]> {
    if (clientIds.length === 0) return []
    await this.redis.smsBacklogSettle(clientIds.length, ...clientIds.map((clientId) => this.keys.smsBacklog(clientId)))
    return clientIds.map(() => undefined)
  }

  /** What BullMQ holds for a message's job, as the reconciler needs to know it. */
  async jobState (messageId: string): Promise<SmsJobState> {
    return jobStateOf(this.queue, jobIds.smsSend(messageId))
  }

  /** Takes a cancelled message's job off the queue; false when there was none or it is running (the sender then finds the row cancelled). */
  async withdraw (message: { id: string, clientId: string }): Promise<boolean> {
    const removed = await this.queue.remove(jobIds.smsSend(message.id)) === 1
    if (removed) await this.settled(message.clientId)
    return removed
  }

  /** Drops a finished job so the message can be queued again under the same id. */
  async removeJob (messageId: string): Promise<void> {
    await this.queue.remove(jobIds.smsSend(messageId))
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    smsBacklogCount: (key: string, ttlMs: number) => Result<number, Context>
    smsBacklogSettle: (numberOfKeys: number, ...keys: string[]) => Result<number, Context>
  }
}
