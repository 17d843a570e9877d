/**
 * One worker: the runtime, every BullMQ worker of the registry, the job schedulers and the health
 * server, and the ordered stop (no new jobs, in-flight jobs finish, health server, connections).
 * main.ts runs it as a process; tests run it in-process too.
 */
import type { Server } from 'node:http'
import type { WorkerConfig } from '@ghl-connect/config'
import type { Logger } from '@ghl-connect/logging'
import { QUEUES } from '@ghl-connect/queues'
import { startHealthServer } from './health-server.ts'
import { crmEventsProcessor } from './processors/crm-events.ts'
import { outboxProcessor } from './processors/outbox.ts'
import { smsSendProcessor } from './processors/sms-send.ts'
import { tokensProcessor } from './processors/tokens.ts'
import { createWorkerRuntime, type WorkerRuntime } from './runtime.ts'
import { ensureSchedulers } from './schedulers.ts'
import { WorkerManager } from './worker-manager.ts'

export interface RunningWorker {
  runtime: WorkerRuntime
  manager: WorkerManager
  health: Server | undefined
  /** Resolves when everything is closed; `clean` is false when in-flight jobs had to be abandoned. */
  stop: () => Promise<{ clean: boolean }>
}

export async function startWorker (config: WorkerConfig, logger: Logger): Promise<RunningWorker> {
  const runtime = createWorkerRuntime(config, logger)
  const manager = new WorkerManager(runtime.redis, runtime.keys, logger, runtime.metrics)
  const { concurrency } = config.worker

  manager.register({ queue: QUEUES.sms, concurrency, processor: smsSendProcessor(runtime.smsSender) })
  manager.register({ queue: QUEUES.tokens, concurrency, processor: tokensProcessor(runtime.tokenRefresher, runtime.tokenSweep) })
  manager.register({ queue: QUEUES.outbox, concurrency: 1, processor: outboxProcessor(runtime.outboxReconciler, runtime.crmEventReconciler, runtime.retention, runtime.gapFillJob) })
  if (runtime.crmEventDelivery) {
    manager.register({ queue: QUEUES.crmEvents, concurrency, processor: crmEventsProcessor(runtime.crmEventDelivery) })
  }
  // BullMQ turns an idle fetch loop at least every 11 s: a due job left 60 s means the loop stopped.
  manager.watch({ stuckAfterMs: 60_000, checkEveryMs: 15_000 })
  const schedulers = ensureSchedulers(runtime, logger)
  await schedulers.ensure()
  const health = config.worker.healthPort > 0
    ? await startHealthServer(runtime, manager, config.worker.healthPort).catch(async (err) => {
      // e.g. EADDRINUSE: give back what was opened, so a caller in the same process is not left holding it
      schedulers.stop()
      await manager.close(0)
      await runtime.close().catch(() => {})
      throw err
    })
    : undefined
  logger.info({ concurrency, healthPort: config.worker.healthPort || null, crmEvents: runtime.crmEventDelivery !== null }, 'worker started')

  let stopping: Promise<{ clean: boolean }> | undefined
  const stop = () => {
    stopping ??= (async () => {
      schedulers.stop()
      // In-flight jobs get most of the budget; closing connections needs a moment after them.
      const result = await manager.close(Math.max(500, config.worker.shutdownTimeoutMs - 1500))
      await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()))
      await runtime.close().catch((err) => logger.warn({ err }, 'error while closing connections'))
      return result
    })()
    return stopping
  }
  return { runtime, manager, health, stop }
}
