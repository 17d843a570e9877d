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

interface Entry { queue: QueueName, worker: Worker, inFlight: number, make: () => Worker }

export class WorkerManager {
  private readonly entries: Entry[] = []
  private closing = false
  private watcher: NodeJS.Timeout | undefined
  private readonly abandoned: Worker[] = []

  constructor (
    private readonly connection: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  private get workers (): Worker[] { return this.entries.map((e) => e.worker) }

  register<Q extends QueueName> (registration: Registration<Q>): Worker {
    const entry: Entry = { queue: registration.queue, worker: undefined as unknown as Worker, inFlight: 0, make: () => this.start(registration, entry) }
    entry.worker = entry.make()
    this.entries.push(entry)
    return entry.worker
  }

  /**
   * Replaces a worker whose fetch loop has stopped: seen after a Redis Cluster failover, when
   * BullMQ's reset of its blocking connection never returned, and every worker process then left
   * its queue's due jobs (the outbox reconciler's among them) where they were. A worker counts as
   * stopped when it holds no job and a delayed job of its queue is overdue by `stuckAfterMs`; the
   * old one is closed without waiting for it (it holds no job), a new one takes its place.
   */
  watch (opts: WatchOptions): void {
    this.watcher = setInterval(() => { this.check(opts).catch((err) => this.logger.warn({ err }, 'could not check the queue workers')) }, opts.checkEveryMs)
    this.watcher.unref()
  }

  private async check ({ stuckAfterMs }: WatchOptions): Promise<void> {
    for (const entry of this.entries) {
      if (this.closing || entry.inFlight > 0) continue
      const due = await this.delayedDue(entry.queue)
      if (due === null || Date.now() - due < stuckAfterMs || entry.inFlight > 0 || this.closing) continue
      this.logger.error({ queue: entry.queue, overdueMs: Date.now() - due }, 'the queue\'s worker stopped fetching jobs (its Redis connection did not recover); replacing it')
      const stuck = entry.worker
      this.abandoned.push(stuck)
      stuck.close(true).catch(() => {})
      entry.worker = entry.make()
      this.metrics.workerRestarts.inc({ queue: entry.queue })
    }
  }

  /**
   * When the queue's earliest delayed job came due (null: none waits). BullMQ promotes due delayed
   * jobs each time a worker's fetch loop turns, at least every 11 s when idle. The set's score is
   * the due time shifted 12 bits left (BullMQ's tie-breaking counter below it).
   */
  private async delayedDue (queue: QueueName): Promise<number | null> {
    const [, score] = await this.connection.zrange(`${this.keys.bullPrefix(queue)}:${queue}:delayed`, 0, 0, 'WITHSCORES')
    return score === undefined ? null : Math.floor(Number(score) / 0x1000)
  }

  private start<Q extends QueueName> ({ queue, concurrency, processor }: Registration<Q>, entry: Entry): Worker {
    const worker = new Worker(queue, this.instrument(queue, processor, entry), {
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
    for (const w of this.abandoned) w.close(true).catch(() => {})
    const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => true)
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
    const clean = await Promise.race([graceful, timeout])
    if (!clean) await Promise.all(this.workers.map((w) => w.close(true).catch(() => {})))
    return { clean }
  }

  private instrument<Q extends QueueName> (queue: Q, processor: QueueProcessor<Q>, entry: Entry) {
    const { metrics } = this
    return async (job: Job, token?: string) => {
      entry.inFlight++
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
        entry.inFlight--
      }
    }
  }
}
