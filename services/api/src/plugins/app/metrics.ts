/**
 * GET /metrics: Prometheus text for this api process (SMS intake, refresh outcomes) plus the
 * queues' depth and oldest-waiting age, read from Redis and PostgreSQL at scrape time. Queue
 * gauges live here only, so scraping several api replicas and workers does not multiply them.
 * Workers expose their own counters (sends, HighLevel latency, jobs) on WORKER_HEALTH_PORT.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Queue } from 'bullmq'
import { observeQueues, type QueueProbe } from '@ghl-connect/metrics'

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const

function probe (name: string, queue: Queue, oldestWaitingAt?: () => Promise<Date | null>): QueueProbe {
  return {
    name,
    counts: () => queue.getJobCounts(...STATES),
    oldestWaitingAt: oldestWaitingAt ?? (async () => {
      // The wait list is FIFO: the oldest job sits at its far end.
      const [oldest] = await queue.getJobs(['wait'], 0, 0, true)
      return oldest ? new Date(oldest.timestamp) : null
    }),
  }
}

export default fp(async function metricsPlugin (fastify: FastifyInstance) {
  const { metrics, queues, smsMessages } = fastify.runtime
  const refresh = observeQueues(metrics, [
    // SMS jobs are prioritized per tenant, so the outbox knows the oldest waiting message best.
    probe('sms', queues.sms as unknown as Queue, () => smsMessages.oldestQueuedAt()),
    probe('tokens', queues.tokens as unknown as Queue),
    probe('outbox', queues.outbox as unknown as Queue),
    probe('crm-events', queues.crmEvents as unknown as Queue),
  ], (err) => fastify.log.warn({ err }, 'could not read queue metrics'))

  fastify.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    await refresh()
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}, { name: 'metrics' })
