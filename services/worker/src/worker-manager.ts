/**
 * The one registry of BullMQ workers in this process: starts each with the deployment's prefix
 * and a shared connection, wraps every processor with metrics (wait, duration, result) and
 * logging, replaces one whose fetch loop has stopped (`watch`), and closes them all on shutdown,
 * letting in-flight jobs finish.
 */
import { DelayedError, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { JobOf, QueueName } from '@ghl-connect/queues'
import type { RedisKeys } from '@ghl-connect/redis-keys'

/** Consumes queue Q's jobs, typed by the queue contract (JobsByQueue). */
export type QueueProcessor<Q extends QueueName> = (job: JobOf<Q>, token?: string) => Promise<unknown>

export interface Registration<Q extends QueueName> { queue: Q, concurrency: number, processor: QueueProcessor<Q> }

/** A job name the contract does not know (a producer from another version): failed, not guessed at. */
export function unknownJob (queue: QueueName, job: { name: string }): Error {
  return new Error(`unknown job ${job.name} on the ${queue} queue`)
}

export interface WatchOptions {
  /** An idle worker whose queue holds a job overdue by this long has stopped fetching. */
  stuckAfterMs: number
  checkEveryMs: number
}

/** The jobs a queue's worker is running now (the watch leaves a busy worker alone). */
interface Running { inFlight: number }

interface Entry { queue: QueueName, worker: Worker, running: Running, make: () => Worker }

export class WorkerManager {
  private readonly entries: Entry[] = []
  private closing = false
  private watcher: NodeJS.Timeout | undefined

  constructor (
    private readonly connection: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  private get workers (): Worker[] { return this.entries.map((e) => e.worker) }

  register<Q extends QueueName> (registration: Registration<Q>): Worker {
    const running: Running = { inFlight: 0 }
    const make = () => this.start(registration, running)
    const entry: Entry = { queue: registration.queue, worker: make(), running, make }
    this.entries.push(entry)
    return entry.worker
  }

  /**
   * Replaces a worker whose fetch loop has stopped: seen after a Redis Cluster failover, when the
   * outbox queue's blocking connection of every worker process sent nothing more (where inside
   * BullMQ the loop stopped was not traced), and their queue's due jobs (the outbox reconciler's
   * among them) stayed where they were. A worker counts as
   * stopped when it holds no job and a delayed job of its queue is overdue by `stuckAfterMs`; the
   * old one is closed without waiting for it (it holds no job), a new one takes its place.
   */
  watch (opts: WatchOptions): void {
    this.watcher = setInterval(() => { this.check(opts).catch((err) => this.logger.warn({ err }, 'could not check the queue workers')) }, opts.checkEveryMs)
    this.watcher.unref()
  }

  private async check ({ stuckAfterMs }: WatchOptions): Promise<void> {
    for (const entry of this.entries) {
      if (this.closing || entry.running.inFlight > 0) continue
      const due = await this.delayedDue(entry.worker)
      if (due === null || Date.now() - due < stuckAfterMs || entry.running.inFlight > 0 || this.closing) continue
      this.logger.error({ queue: entry.queue, overdueMs: Date.now() - due }, 'the queue\'s worker stopped fetching jobs (its Redis connection did not recover); replacing it')
      // Holding no job, it is closed without waiting; nothing of it is left to close at shutdown.
      entry.worker.close(true).catch(() => {})
      entry.worker = entry.make()
      this.metrics.workerRestarts.inc({ queue: entry.queue })
    }
  }

  /**
   * When the earliest delayed job of the worker's queue came due (null: none waits), read from
   * the set under BullMQ's own key. BullMQ promotes due delayed jobs each time a worker's fetch
   * loop turns, at least every 11 s when idle. The set's score is the due time shifted 12 bits
   * left (BullMQ's tie-breaking counter below it).
   */
  private async delayedDue (worker: Worker): Promise<number | null> {
    const [, score] = await this.connection.zrange(worker.toKey('delayed'), 0, 0, 'WITHSCORES')
    return score === undefined ? null : Math.floor(Number(score) / 0x1000)
  }

  private start<Q extends QueueName> ({ queue, concurrency, processor }: Registration<Q>, running: Running): Worker {
    const worker = new Worker(queue, this.instrument(queue, processor, running), {
      connection: this.connection,
      prefix: this.keys.bullPrefix(queue),
      concurrency,
      // A job whose process died is picked up again after this long (BullMQ's stalled check).
      lockDuration: 30_000,
      maxStalledCount: 3,
    })
    worker.on('error', (err) => this.logger.warn({ err, queue }, 'worker error'))
    worker.on('failed', (job, err) => {
      if (job) this.logger.warn({ err, queue, jobId: job.id, attemptsMade: job.attemptsMade }, 'job failed')
    })
    return worker
  }

  get running (): boolean {
    return !this.closing && this.workers.length > 0 && this.workers.every((w) => w.isRunning())
  }

  /**
   * Stops taking jobs and waits for the ones in flight; past `timeoutMs` it gives up on them
   * (their locks lapse and another worker takes them, as for a crash).
   */
  async close (timeoutMs: number): Promise<{ clean: boolean }> {
    this.closing = true
    clearInterval(this.watcher)
    const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => true)
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
    const clean = await Promise.race([graceful, timeout])
    if (!clean) await Promise.all(this.workers.map((w) => w.close(true).catch(() => {})))
    return { clean }
  }

  private instrument<Q extends QueueName> (queue: Q, processor: QueueProcessor<Q>, running: Running) {
    const { metrics } = this
    return async (job: Job, token?: string) => {
      running.inFlight++
      const labels = { queue, name: job.name }
      metrics.jobWait.observe(labels, Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp) / 1000)
      const end = metrics.jobDuration.startTimer(labels)
      try {
        // BullMQ does not know our contract; the typed producers (packages/queues) put only its jobs on Q.
        const result = await processor(job as JobOf<Q>, token)
        metrics.jobs.inc({ ...labels, result: 'completed' })
        return result
      } catch (err) {
        metrics.jobs.inc({ ...labels, result: err instanceof DelayedError ? 'delayed' : 'failed' })
        throw err
      } finally {
        end()
        running.inFlight--
      }
    }
  }
}
