/**
 * GET /metrics: Prometheus text for this api process (SMS intake, refresh outcomes) plus the
 * queues' depth and oldest-waiting age. Queue gauges live here only, so scraping several api
 * replicas and workers does not multiply them. Workers expose their own counters (sends,
 * HighLevel latency, jobs) on WORKER_HEALTH_PORT.
 *
 * The gauges are read from Redis and PostgreSQL in the background every METRICS_REFRESH_SECONDS,
 * never by a scrape: however often (or by however many scrapers) /metrics is asked, the backends
 * see the same modest load. With METRICS_TOKEN set, a scrape needs it as a bearer token.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Queue } from 'bullmq'
import { observeQueues, type QueueProbe } from '@ghl-connect/metrics'
import { metricsAccess } from '@ghl-connect/lifecycle'

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
  const { metrics, queues, smsMessages, config } = fastify.runtime
  const observe = observeQueues(metrics, [
    // SMS jobs are prioritized per tenant, so the outbox knows the oldest waiting message best.
    probe('sms', queues.sms as unknown as Queue, () => smsMessages.oldestQueuedAt()),
    probe('tokens', queues.tokens as unknown as Queue),
    probe('outbox', queues.outbox as unknown as Queue),
    probe('crm-events', queues.crmEvents as unknown as Queue),
  ], (err) => fastify.log.warn({ err }, 'could not read queue metrics'))

  // One reading at a time: a slow backend makes readings rarer, never pile up.
  let reading: Promise<void> | null = null
  const readQueues = () => (reading ??= observe().finally(() => { reading = null }))
  let timer: NodeJS.Timeout | undefined
  fastify.addHook('onReady', async () => {
    void readQueues()
    timer = setInterval(readQueues, config.http.metrics.refreshMs).unref()
  })
  // Not waiting for a reading in flight: with Redis unreachable, BullMQ waits for it indefinitely.
  fastify.addHook('preClose', async () => { clearInterval(timer) })

  const refuseScrape = metricsAccess(config.http.metrics.token)
  fastify.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const refused = refuseScrape(request.headers.authorization)
    if (refused) throw refused
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}, { name: 'metrics' })
