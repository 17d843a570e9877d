/**
 * The one registry of BullMQ workers in this process: starts each with the deployment's prefix
 * and a shared connection, wraps every processor with metrics (wait, duration, result) and
 * logging, and closes them all on shutdown, letting in-flight jobs finish.
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

export class WorkerManager {
  private readonly workers: Worker[] = []
  private closing = false

  constructor (
    private readonly connection: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  register<Q extends QueueName> ({ queue, concurrency, processor }: Registration<Q>): Worker {
    const worker = new Worker(queue, this.instrument(queue, processor), {
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
    this.workers.push(worker)
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
    const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => true)
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
    const clean = await Promise.race([graceful, timeout])
    if (!clean) await Promise.all(this.workers.map((w) => w.close(true).catch(() => {})))
    return { clean }
  }

  private instrument<Q extends QueueName> (queue: Q, processor: QueueProcessor<Q>) {
    const { metrics } = this
    return async (job: Job, token?: string) => {
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
      }
    }
  }
}
