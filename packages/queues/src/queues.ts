/** The connections and queues a process opens: every queue with its retention and retry options. */
import { Queue, type JobsOptions, type QueueOptions } from 'bullmq'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import type { QueueName, TypedQueue } from './contract.ts'

/** Where a process's Redis is: one server (`url`), or a Redis Cluster when seed nodes are given (REDIS_CLUSTER_NODES). */
export interface RedisTarget { url: string, clusterNodes?: ReadonlyArray<{ host: string, port: number }> }

/**
 * The one place a process's Redis connection is made: a Redis, or a Cluster when the target names
 * cluster nodes. BullMQ workers block on Redis: they need maxRetriesPerRequest null (the default
 * here); the api and the CLI pass a small number to fail fast instead.
 *
 * A Cluster is returned typed as a Redis: it answers every command our code sends (each script and
 * MULTI touches one hash slot, RedisKeys' tags; `pnpm bench --only=cluster` counts CROSSSLOT), and
 * SCAN/KEYS, which would see one node only, are used by tests and drills on a single Redis alone.
 */
export function createRedis (target: string | RedisTarget, extra: RedisOptions = {}): Redis {
  const { url, clusterNodes = [] } = typeof target === 'string' ? { url: target } : target
  const redisOptions: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }
  if (clusterNodes.length === 0) return new Redis(url, redisOptions)
  return new ClosableCluster([...clusterNodes], clusterOptions(redisOptions)) as unknown as Redis
}

/**
 * A Cluster that lets its process end once closed. ioredis re-reads the slot map on a timer
 * (`slotsRefreshInterval`) and re-arms that timer when a re-read ends; one in flight when the
 * Cluster is quit or disconnected re-arms it after the close, and from then on the timer fires
 * every interval for good, holding the process open (an api test hung until its timeout). Once
 * closed, the re-reads stop: at most one more timer runs out. Its duplicates (subscribers,
 * BullMQ's blocking connections) are built the same way.
 */
class ClosableCluster extends Cluster {
  private closedByOwner = false

  constructor (private readonly seeds: ConstructorParameters<typeof Cluster>[0], options: ClusterOptions) {
    super(seeds, options)
  }

  override refreshSlotsCache (callback?: Parameters<Cluster['refreshSlotsCache']>[0]): void {
    // not even the callback: the timer's callback is what re-arms it
    if (this.closedByOwner) return
    super.refreshSlotsCache(callback)
  }

  override connect (): Promise<void> {
    this.closedByOwner = false
    return super.connect()
  }

  override quit (callback?: Parameters<Cluster['quit']>[0]): Promise<'OK'> {
    this.closedByOwner = true
    return super.quit(callback)
  }

  override disconnect (reconnect = false): void {
    // ioredis disconnects to reconnect when every node failed a re-read: that is not a close
    if (!reconnect) this.closedByOwner = true
    super.disconnect(reconnect)
  }

  override duplicate (overrideStartupNodes: ConstructorParameters<typeof Cluster>[0] = [], overrideOptions: ClusterOptions = {}): Cluster {
    return new ClosableCluster(overrideStartupNodes.length > 0 ? overrideStartupNodes : this.seeds, { ...this.options, ...overrideOptions })
  }
}

/**
 * Surviving a failover: a command to a master that died is retried (the connection-closed, MOVED,
 * TRYAGAIN and CLUSTERDOWN answers) every `retryDelayOnFailover` until a replica has taken its
 * slots, the slot map refreshed each time. Redis Cluster promotes a replica after
 * cluster-node-timeout (15 s by default), so a worker (maxRetriesPerRequest null: it can wait)
 * retries for about 40 s; the api and the CLI (a retry budget given) for about 3 s, then fail as
 * for a Redis that is down. Why a replayed command is harmless: docs/operations.md (Redis Cluster).
 */
export function clusterOptions (redisOptions: RedisOptions): ClusterOptions {
  const patient = redisOptions.maxRetriesPerRequest === null
  return {
    redisOptions,
    enableReadyCheck: true,
    retryDelayOnFailover: 300,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 300,
    maxRedirections: patient ? 130 : 10,
    // The slot map is also re-read on a timer, so a promoted replica is found without waiting for an error.
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
  }
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
