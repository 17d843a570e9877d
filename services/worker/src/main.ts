/**
 * The worker process: sends SMS, refreshes tokens (and runs the sweep), reconciles the outbox
 * and delivers events to the CRM. Run as many as needed; they coordinate through Redis.
 * SIGTERM / SIGINT: stop taking jobs, finish those in flight, close connections, exit within
 * WORKER_SHUTDOWN_TIMEOUT_MS.
 */
import type { Server } from 'node:http'
import { loadOrExit, loadWorkerConfig } from '@ghl-connect/config'
import { createLogger, registerSecrets } from '@ghl-connect/logging'
import { QUEUES } from '@ghl-connect/queues'
import { startHealthServer } from './health-server.ts'
import { crmEventsProcessor } from './processors/crm-events.ts'
import { outboxProcessor } from './processors/outbox.ts'
import { smsSendProcessor } from './processors/sms-send.ts'
import { tokensProcessor } from './processors/tokens.ts'
import { createWorkerRuntime } from './runtime.ts'
import { ensureSchedulers } from './schedulers.ts'
import { WorkerManager } from './worker-manager.ts'

const config = loadOrExit(loadWorkerConfig)
registerSecrets(config.ghl.clientSecret, config.crmEvents?.secret, config.legacyPit?.token)
const logger = createLogger({ level: config.runtime.logLevel, name: 'worker', base: { pid: process.pid } })
const runtime = createWorkerRuntime(config, logger)
const manager = new WorkerManager(runtime.redis, config.redis.keyPrefix, logger, runtime.metrics)
const { concurrency } = config.worker

manager.register({ queue: QUEUES.sms, concurrency, processor: smsSendProcessor(runtime.smsSender) })
manager.register({ queue: QUEUES.tokens, concurrency, processor: tokensProcessor(runtime.tokenRefresher, runtime.tokenSweep) })
manager.register({ queue: QUEUES.outbox, concurrency: 1, processor: outboxProcessor(runtime.outboxReconciler) })
if (runtime.crmEventDelivery) {
  manager.register({ queue: QUEUES.crmEvents, concurrency, processor: crmEventsProcessor(runtime.crmEventDelivery) })
}
const schedulers = ensureSchedulers(runtime, logger)
await schedulers.ensure()

let health: Server | undefined
if (config.worker.healthPort > 0) health = await startHealthServer(runtime, manager, config.worker.healthPort)
logger.info({ concurrency, healthPort: config.worker.healthPort || null, crmEvents: runtime.crmEventDelivery !== null }, 'worker started')

let stopping = false
async function shutdown (signal: string) {
  if (stopping) return
  stopping = true
  const started = Date.now()
  const budget = config.worker.shutdownTimeoutMs
  logger.info({ signal }, 'shutting down: no new jobs, finishing the ones in flight')
  // Whatever happens below, the process is gone before the orchestrator's kill.
  setTimeout(() => { logger.error('shutdown took too long; exiting'); process.exit(1) }, budget).unref()
  schedulers.stop()
  // In-flight jobs get most of the budget; closing connections needs a moment after them.
  const { clean } = await manager.close(Math.max(500, budget - 1500))
  health?.close()
  await runtime.close().catch((err) => logger.warn({ err }, 'error while closing connections'))
  logger.info({ clean, tookMs: Date.now() - started }, 'worker stopped')
  process.exit(clean ? 0 : 1)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
