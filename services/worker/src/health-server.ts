/**
 * The worker's own small HTTP face on WORKER_HEALTH_PORT: liveness, readiness (PostgreSQL,
 * Redis, and every BullMQ worker running) and this process's Prometheus metrics (behind
 * METRICS_TOKEN when it is set).
 */
import { createServer, type Server } from 'node:http'
import { errorAnswer, notFound, unavailable, type AppError } from '@ghl-connect/errors'
import { metricsAccess, readinessProbe } from '@ghl-connect/lifecycle'
import type { WorkerRuntime } from './runtime.ts'
import type { WorkerManager } from './worker-manager.ts'

export function startHealthServer (runtime: WorkerRuntime, manager: WorkerManager, port: number, host = '0.0.0.0'): Promise<Server> {
  const readiness = readinessProbe({
    ...runtime.probes,
    workers: () => { if (!manager.running) throw new Error('not running') },
  }, { onFailure: (dependency, err) => runtime.logger.warn({ err, dependency }, 'readiness check failed') })
  const refuseScrape = metricsAccess(runtime.config.worker.metricsToken)
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers })
      response.end(typeof body === 'string' ? body : JSON.stringify(body))
    }
    const refuse = (err: AppError) => {
      const answer = errorAnswer(err)
      send(answer.status, answer.body, 'application/json', answer.headers)
    }
    const path = (request.url ?? '/').split('?')[0]
    void (async () => {
      if (path === '/healthz') return send(200, { status: 'ok' })
      if (path === '/readyz') {
        const { statusCode, body } = await readiness()
        return send(statusCode, body)
      }
      if (path === '/metrics') {
        const refused = refuseScrape(request.headers.authorization)
        if (refused) return refuse(refused)
        return send(200, await runtime.metrics.registry.metrics(), runtime.metrics.registry.contentType)
      }
      return refuse(notFound('route_not_found', `There is no ${request.method} ${path}; try /healthz, /readyz or /metrics.`))
    })().catch(() => refuse(unavailable('unavailable', 'The health check failed; see the worker log.')))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
