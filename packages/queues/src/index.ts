/**
 * The typed contract between producers (api, worker) and consumers (worker): queue names, job
 * names, payloads and job ids. Everything that touches BullMQ goes through here.
 */
import { Queue, type Job, type JobsOptions, type QueueOptions } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import { encodeId, type RedisKeys } from '@ghl-connect/redis-keys'

export const QUEUES = {
  sms: 'sms',
  tokens: 'tokens',
  outbox: 'outbox',
  crmEvents: 'crm-events',
} as const
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES]

export interface SmsSendJob {
  messageId: string
  /** The api request that took the SMS in, so the worker's lines can be followed back to it; absent when the outbox reconciler re-queues. */
  requestId?: string
}
/** One client, as the sweep queued refreshes before it batched them; still taken from a queue written by that version. */
export interface TokenRefreshJob { clientId: string }
/** The sweep's refreshes of several clients expiring close together: one job instead of one per client. */
export interface TokenRefreshBatchJob { clientIds: string[] }
export type TokenSweepJob = Record<string, never>
export type OutboxReconcileJob = Record<string, never>

/**
 * A delivery of one event of the events outbox (PostgreSQL): only its id travels through Redis.
 * The worker loads the event by id and delivers what is stored, so a job added by anything else
 * (Bull Board's "add job", a script with the Redis address) delivers nothing our code did not write.
 */
export interface CrmEventJob { eventId: string }
export type RetentionJob = Record<string, never>

export interface JobsByQueue {
  sms: { send: SmsSendJob }
  tokens: { refresh: TokenRefreshJob, 'refresh-batch': TokenRefreshBatchJob, sweep: TokenSweepJob }
  outbox: { reconcile: OutboxReconcileJob, 'reconcile-events': OutboxReconcileJob, retention: RetentionJob }
  'crm-events': { deliver: CrmEventJob }
}

export type JobName<Q extends QueueName> = Extract<keyof JobsByQueue[Q], string>
export type JobData<Q extends QueueName> = JobsByQueue[Q][JobName<Q>]

/** A job as the consumer of queue Q receives it: one member per job name, so narrowing on `job.name` gives its payload. */
export type JobOf<Q extends QueueName> = { [N in JobName<Q>]: Job<JobsByQueue[Q][N], unknown, N> }[JobName<Q>]

/** BullMQ 6 refuses ':' in job ids, and client ids are the CRM's opaque text: encode them. */
export const jobIds = {
  smsSend: (messageId: string) => `sms-${messageId}`,
  tokenRefresh: (clientId: string) => `refresh-${encodeId(clientId)}`,
  crmEvent: (eventId: string) => `event-${eventId}`,
}

/** BullMQ workers block on Redis: they need maxRetriesPerRequest null. Other clients may use it too. */
export function createRedis (url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra })
}

export type TypedQueue<Q extends QueueName> = Queue<JobData<Q>, unknown, JobName<Q>>

export function createQueue<Q extends QueueName> (name: Q, connection: Redis, keys: RedisKeys, defaultJobOptions?: JobsOptions): TypedQueue<Q> {
  const options: QueueOptions = { connection, prefix: keys.bullPrefix(name), defaultJobOptions }
  return new Queue(name, options) as TypedQueue<Q>
}

/** What BullMQ holds for a job, as a reconciler needs to know it: `pending` covers waiting, delayed and active. */
export type JobState = 'missing' | 'pending' | 'failed' | 'completed'

export async function jobStateOf (queue: Queue, jobId: string): Promise<JobState> {
  const state = await queue.getJobState(jobId)
  if (state === 'unknown') return 'missing'
  if (state === 'failed' || state === 'completed') return state
  return 'pending'
}

export interface Queues {
  sms: TypedQueue<'sms'>
  tokens: TypedQueue<'tokens'>
  outbox: TypedQueue<'outbox'>
  crmEvents: TypedQueue<'crm-events'>
  close: () => Promise<void>
}

export function createQueues (connection: Redis, keys: RedisKeys, onError: (err: Error) => void = () => {}): Queues {
  const queues = {
    sms: createQueue('sms', connection, keys, { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 86_400 } }),
    // A failed refresh job is not kept: its id (refresh-<client>) would make BullMQ ignore the
    // sweep's next refresh of that client until it expired. Failures show in logs and metrics.
    tokens: createQueue('tokens', connection, keys, { removeOnComplete: true, removeOnFail: true }),
    outbox: createQueue('outbox', connection, keys, { removeOnComplete: true, removeOnFail: { age: 86_400 } }),
    crmEvents: createQueue('crm-events', connection, keys, {
      attempts: 8, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 86_400 },
    }),
  }
  // Without a listener BullMQ prints connection errors to the console; the owner logs them instead.
  for (const q of Object.values(queues)) q.on('error', onError)
  return {
    ...queues,
    close: async () => { await Promise.all(Object.values(queues).map((q) => q.close())) },
  }
}

export * from './sms-dispatcher.ts'
export * from './crm-event-dispatcher.ts'
