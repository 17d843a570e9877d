/**
 * The worker process: sends SMS, refreshes tokens (and runs the sweep), reconciles the outbox
 * and delivers events to the CRM. Run as many as needed; they coordinate through Redis.
 * SIGTERM / SIGINT: stop taking jobs, finish those in flight, close connections, exit within
 * WORKER_SHUTDOWN_TIMEOUT_MS (with 1 when in-flight jobs had to be abandoned).
 */
import { loadWorkerConfig } from '@ghl-connect/config'
import { bootProcess, closeOnSignals } from '@ghl-connect/lifecycle'
import { startWorker } from './worker.ts'

const { config, logger } = bootProcess('worker', loadWorkerConfig, { pid: process.pid })
const worker = await startWorker(config, logger)
closeOnSignals(logger, config.worker.shutdownTimeoutMs, async () => (await worker.stop()).clean)
