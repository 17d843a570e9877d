/**
 * The typed contract between producers (api, worker) and consumers (worker): queue names, job
 * names, payloads and job ids. Everything that touches BullMQ goes through here.
 */
import { randomUUID } from 'node:crypto'
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

export interface SmsSendJob { messageId: string }
export interface TokenRefreshJob { clientId: string }
export type TokenSweepJob = Record<string, never>
export type OutboxReconcileJob = Record<string, never>

export type CrmEventType = 'sms.sent' | 'sms.failed' | 'connection.broken' | 'connection.recovered' | 'connection.replaced' | 'install.pending'
export interface CrmEventJob {
  id: string
  type: CrmEventType
  occurredAt: string
  data: Record<string, unknown>
}

export interface JobsByQueue {
  sms: { send: SmsSendJob }
  tokens: { refresh: TokenRefreshJob, sweep: TokenSweepJob }
  outbox: { reconcile: OutboxReconcileJob }
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
  const options: QueueOptions = { connection, prefix: keys.bullPrefix, defaultJobOptions }
  return new Queue(name, options) as TypedQueue<Q>
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

/**
 * Queues an event for the CRM (delivered, signed and retried by the worker); a no-op when no
 * CRM_WEBHOOK_URL is configured. The job id is the event id, so a retried producer adds it once.
 */
export function crmEventPublisher (queues: Pick<Queues, 'crmEvents'>, enabled: boolean) {
  return async (type: CrmEventType, data: Record<string, unknown>): Promise<void> => {
    if (!enabled) return
    const id = randomUUID()
    await queues.crmEvents.add('deliver', { id, type, occurredAt: new Date().toISOString(), data }, { jobId: jobIds.crmEvent(id) })
  }
}
export type CrmEventPublisher = ReturnType<typeof crmEventPublisher>

export * from './sms-dispatcher.ts'
