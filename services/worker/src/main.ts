/**
 * The worker process: sends SMS, refreshes tokens (and runs the sweep), reconciles the outbox
 * and delivers events to the CRM. Run as many as needed; they coordinate through Redis.
 * SIGTERM / SIGINT: stop taking jobs, finish those in flight, close connections, exit within
 * WORKER_SHUTDOWN_TIMEOUT_MS.
 */
import { loadOrExit, loadWorkerConfig } from '@ghl-connect/config'
import { createLogger, registerSecrets } from '@ghl-connect/logging'
import { startWorker } from './worker.ts'

const config = loadOrExit(loadWorkerConfig)
registerSecrets(config.ghl.clientSecret, config.crmEvents?.secret, config.legacyPit?.token)
const logger = createLogger({ level: config.runtime.logLevel, name: 'worker', base: { pid: process.pid } })
const worker = await startWorker(config, logger)

let stopping = false
async function shutdown (signal: string) {
  if (stopping) return
  stopping = true
  const started = Date.now()
  logger.info({ signal }, 'shutting down: no new jobs, finishing the ones in flight')
  // Whatever happens below, the process is gone within the budget.
  setTimeout(() => { logger.error('shutdown took too long; exiting'); process.exit(1) }, config.worker.shutdownTimeoutMs).unref()
  const { clean } = await worker.stop()
  logger.info({ clean, tookMs: Date.now() - started }, 'worker stopped')
  process.exit(clean ? 0 : 1)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
