/**
 * enqueue_ratio: POST /api/sms at the most the api sustains, over the rate of a bare Fastify route
 * doing the same INSERT and queue.add, with the same load (connections, duration, bodies) from a
 * separate process; enqueue_p99_ms: the api's p99 at half its own maximum rate.
 */
import type { Stack, Tenant } from '../harness/stack.ts'
import { cpuMs } from '../harness/cpu.ts'
import { ENTRIES } from '../harness/processes.ts'
import { runLoad, type LoadResult } from '../load/load.ts'
import { round, say } from '../stats.ts'

export interface EnqueueResult {
  enqueue_ratio: number
  enqueue_p99_ms: number
  api_rss_mb: number
  /** The bare route's CPU per request over the api's (the api process only, not PostgreSQL or Redis): 1 would be as cheap. */
  enqueue_cpu_ratio: number
  details: { api: { max: LoadResult, half: LoadResult, cpuMsPerRequest: number }, bare: { max: LoadResult, half: LoadResult, cpuMsPerRequest: number }, connections: number, durationSeconds: number }
}

export async function enqueueScenario (stack: Stack, tenants: Tenant[], opts: { durationSeconds: number, connections: number }): Promise<EnqueueResult> {
  const bodies = tenants.map((t, i) => JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: `Your appointment is tomorrow at 10:00 (#${i})` }))
  const measure = async (name: 'api' | 'bare') => {
    await stack.resetData()
    const api = name === 'api' ? await stack.startApi() : await stack.startApi({}, 'bare-api', ENTRIES.bareApi)
    const spec = {
      url: api.url, method: 'POST' as const, path: '/api/sms', bodies, connections: opts.connections,
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    }
    await runLoad({ ...spec, durationSeconds: 3 }) // warm-up: JIT, pools
    const cpuBefore = cpuMs(api.service.pid)
    const max = await runLoad({ ...spec, durationSeconds: opts.durationSeconds })
    const cpuMsPerRequest = round((cpuMs(api.service.pid) - cpuBefore) / Math.max(1, max.ok), 3)
    say(`${name}: ${round(max.rps, 0)} req/s at most (${max.non2xx} non-2xx, ${max.errors} errors), p99 ${max.p99Ms} ms, ${cpuMsPerRequest} ms of its CPU per request`)
    const half = await runLoad({ ...spec, durationSeconds: opts.durationSeconds, overallRate: Math.max(1, Math.floor(max.rps / 2)) })
    say(`${name}: at ${Math.floor(max.rps / 2)} req/s, p50 ${half.p50Ms} ms, p99 ${half.p99Ms} ms`)
    const rss = api.service.peakRssMb()
    await api.service.stop()
    return { max, half, rss, cpuMsPerRequest }
  }
  const bare = await measure('bare')
  const api = await measure('api')
  return {
    enqueue_ratio: round(api.max.ok / api.max.durationSeconds / (bare.max.ok / bare.max.durationSeconds)),
    enqueue_p99_ms: api.half.p99Ms,
    api_rss_mb: api.rss,
    enqueue_cpu_ratio: round(bare.cpuMsPerRequest / api.cpuMsPerRequest),
    details: {
      api: { max: api.max, half: api.half, cpuMsPerRequest: api.cpuMsPerRequest },
      bare: { max: bare.max, half: bare.half, cpuMsPerRequest: bare.cpuMsPerRequest },
      connections: opts.connections,
      durationSeconds: opts.durationSeconds,
    },
  }
}
