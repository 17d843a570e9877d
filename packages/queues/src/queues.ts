/** The connections and queues a process opens: every queue with its retention and retry options. */
import { Queue, type JobsOptions, type QueueOptions } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import type { QueueName, TypedQueue } from './contract.ts'

/** BullMQ workers block on Redis: they need maxRetriesPerRequest null. Other clients may use it too. */
export function createRedis (url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra })
}

export function createQueue<Q extends QueueName> (name: Q, connection: Redis, keys: RedisKeys, defaultJobOptions?: JobsOptions): TypedQueue<Q> {
  const options: QueueOptions = { connection, prefix: keys.bullPrefix(name), defaultJobOptions }
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
