/**
 * The Prometheus metrics both processes expose, defined once so the api (/metrics) and each worker
 * (/metrics on WORKER_HEALTH_PORT) name and label them alike. Each process has its own registry;
 * Prometheus scrapes every process and sums across them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  /** SMS the api accepted (`accepted`) or answered again for a repeated idempotency key (`duplicate`). */
  smsIntake: Counter<'outcome'>
  /** What became of each send attempt: sent, failed (code), retried, rate_limited, deferred. */
  smsOutcomes: Counter<'outcome' | 'code'>
  /** TokenService's onOutcome: refreshed, reused, invalid_grant, location_inactive, transient, lock_timeout, cooling_down. */
  refreshOutcomes: Counter<'outcome'>
  /** A credential for HighLevel calls (the worker's SMS; the api's proxy, MCP and conversations): from the process's cache (`cached`) or read from PostgreSQL (`read`). */
  credentialLookups: Counter<'result'>
  /** Every HighLevel call, by operation and how it ended (ok or the GhlError kind). */
  ghlLatency: Histogram<'operation' | 'outcome'>
  /** Worker jobs by queue, name and result (completed, failed, delayed). */
  jobs: Counter<'queue' | 'name' | 'result'>
  /** A queue's BullMQ worker replaced because its fetch loop had stopped (WorkerManager.watch). */
  workerRestarts: Counter<'queue'>
  jobDuration: Histogram<'queue' | 'name'>
  /** Time from a job's creation to its processing start. */
  jobWait: Histogram<'queue' | 'name'>
  /** How many jobs wait on a queue right now, and how old the oldest waiting one is. */
  queueDepth: Gauge<'queue' | 'state'>
  oldestWaitingSeconds: Gauge<'queue'>
  /** Gap filling: events found in HighLevel's export that no webhook brought, by type; its calls, by operation; its oldest cursor's lag. */
  gapFillFound: Counter<'type'>
  gapFillCalls: Counter<'operation'>
  gapFillCursorLag: Gauge
}

export interface QueueProbe {
  name: string
  /** Counts by BullMQ state (waiting, prioritized, delayed, active, failed...). */
  counts: () => Promise<Record<string, number>>
  /** When the oldest job still waiting was created, or null when none waits. */
  oldestWaitingAt: () => Promise<Date | null>
}

/** `processMetrics`: Node's own (heap, event loop lag, GC), off in tests that build many runtimes in one process. */
export function createMetrics (service: 'api' | 'worker' | 'cli', { processMetrics = true } = {}): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: 'ghl_connect_' })
  const registers = [registry]
  return {
    registry,
    smsIntake: new Counter({ name: 'ghl_connect_sms_intake_total', help: 'SMS requests accepted by the api', labelNames: ['outcome'], registers }),
    smsOutcomes: new Counter({ name: 'ghl_connect_sms_total', help: 'SMS send outcomes', labelNames: ['outcome', 'code'], registers }),
    refreshOutcomes: new Counter({ name: 'ghl_connect_token_refresh_total', help: 'Token refresh outcomes', labelNames: ['outcome'], registers }),
    credentialLookups: new Counter({ name: 'ghl_connect_credential_lookups_total', help: 'Credentials used for HighLevel calls (worker: SMS; api: proxy, MCP, conversations), from the process cache or read from PostgreSQL', labelNames: ['result'], registers }),
    ghlLatency: new Histogram({
      name: 'ghl_connect_ghl_request_duration_seconds', help: 'HighLevel call latency', labelNames: ['operation', 'outcome'], registers,
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    jobs: new Counter({ name: 'ghl_connect_jobs_total', help: 'Jobs processed by result', labelNames: ['queue', 'name', 'result'], registers }),
    workerRestarts: new Counter({ name: 'ghl_connect_worker_restarts_total', help: 'Queue workers replaced because their fetch loop had stopped', labelNames: ['queue'], registers }),
    jobDuration: new Histogram({
      name: 'ghl_connect_job_duration_seconds', help: 'Job processing time', labelNames: ['queue', 'name'], registers,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    jobWait: new Histogram({
      name: 'ghl_connect_job_wait_seconds', help: 'Time from job creation to processing start', labelNames: ['queue', 'name'], registers,
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    }),
    queueDepth: new Gauge({ name: 'ghl_connect_queue_jobs', help: 'Jobs on each queue by state', labelNames: ['queue', 'state'], registers }),
    oldestWaitingSeconds: new Gauge({ name: 'ghl_connect_queue_oldest_waiting_seconds', help: 'Age of the oldest job waiting on each queue', labelNames: ['queue'], registers }),
    gapFillFound: new Counter({ name: 'ghl_connect_gap_fill_found_total', help: 'Events gap filling produced that no webhook had (sms.received, sms.delivery), by type', labelNames: ['type'], registers }),
    gapFillCalls: new Counter({ name: 'ghl_connect_gap_fill_calls_total', help: 'HighLevel calls gap filling and the delivery-status timeout made, by operation', labelNames: ['operation'], registers }),
    gapFillCursorLag: new Gauge({ name: 'ghl_connect_gap_fill_cursor_lag_seconds', help: 'How far behind now the oldest cursor of a location with traffic is in HighLevel\'s message export', registers }),
  }
}

/** Times one HighLevel call into `ghlLatency`; the outcome label is the error's kind when it throws. */
export async function timeGhlCall<T> (metrics: Metrics | undefined, operation: string, call: () => Promise<T>): Promise<T> {
  if (!metrics) return call()
  const end = metrics.ghlLatency.startTimer({ operation })
  try {
    const result = await call()
    end({ outcome: 'ok' })
    return result
  } catch (err) {
    const kind = (err as { kind?: unknown }).kind
    end({ outcome: typeof kind === 'string' ? kind : 'error' })
    throw err
  }
}

/**
 * Reads the queue gauges from the probes once (the api does it on a timer, never per scrape). A
 * probe that fails leaves its last values.
 */
export function observeQueues (metrics: Metrics, probes: QueueProbe[], onError: (err: unknown) => void = () => {}): () => Promise<void> {
  return async () => {
    await Promise.all(probes.map(async (probe) => {
      try {
        const [counts, oldest] = await Promise.all([probe.counts(), probe.oldestWaitingAt()])
        for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue: probe.name, state }, n)
        metrics.oldestWaitingSeconds.set({ queue: probe.name }, oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0)
      } catch (err) {
        onError(err)
      }
    }))
  }
}
