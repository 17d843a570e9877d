/**
 * The worker's own small HTTP face on WORKER_HEALTH_PORT: liveness, readiness (PostgreSQL,
 * Redis, and every BullMQ worker running) and this process's Prometheus metrics.
 */
import { createServer, type Server } from 'node:http'
import type { WorkerRuntime } from './runtime.ts'
import type { WorkerManager } from './worker-manager.ts'

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())])

async function check (probe: () => Promise<unknown>): Promise<{ ok: boolean, error?: string }> {
  try {
    await withTimeout(probe(), 2000)
    return { ok: true }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

export function startHealthServer (runtime: WorkerRuntime, manager: WorkerManager, port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      response.end(typeof body === 'string' ? body : JSON.stringify(body))
    }
    const path = (request.url ?? '/').split('?')[0]
    void (async () => {
      if (path === '/healthz') return send(200, { status: 'ok' })
      if (path === '/readyz') {
        const [postgres, redis] = await Promise.all([
          check(() => runtime.database.sql`select 1`),
          check(() => runtime.redis.ping()),
        ])
        const workers = { ok: manager.running }
        const ready = postgres.ok && redis.ok && workers.ok
        return send(ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', postgres, redis, workers })
      }
      if (path === '/metrics') return send(200, await runtime.metrics.registry.metrics(), runtime.metrics.registry.contentType)
      return send(404, { error: 'route_not_found', message: `There is no ${request.method} ${path}; try /healthz, /readyz or /metrics.` })
    })().catch(() => send(503, { error: 'unavailable', message: 'The health check failed; see the worker log.' }))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
