/**
 * enqueue_ratio: POST /api/sms at the most the api sustains, over the rate of a bare Fastify route
 * doing the same INSERT and queue.add, with the same load (connections, duration, bodies) from a
 * separate process; enqueue_p99_ms: the api's p99 at half its own maximum rate.
 *
 * In `rounds` rounds, each process started afresh, their order alternating (bare then api, api
 * then bare, ...), and the ratio taken of the two medians: on this kind of machine one measurement
 * of either moves by a third from one minute (or one process start) to the next, which a single
 * pair of runs reads as a change of the ratio.
 */
import type { Stack, Tenant } from '../harness/stack.ts'
import { cpuMs } from '../harness/cpu.ts'
import { ENTRIES } from '../harness/processes.ts'
import { runLoad, type LoadResult } from '../load/load.ts'
import { median, round, say } from '../stats.ts'

export interface EnqueueResult {
  enqueue_ratio: number
  enqueue_p99_ms: number
  api_rss_mb: number
  /** The bare route's CPU per request over the api's (the api process only, not PostgreSQL or Redis): 1 would be as cheap. */
  enqueue_cpu_ratio: number
  details: {
    api: { max: LoadResult, half: LoadResult, cpuMsPerRequest: number, rounds: RoundFigures[] }
    bare: { max: LoadResult, half: LoadResult, cpuMsPerRequest: number, rounds: RoundFigures[] }
    connections: number
    durationSeconds: number
  }
}

interface RoundFigures { rps: number, cpuMsPerRequest: number }
interface Measured { max: LoadResult, cpuMsPerRequest: number, half?: LoadResult, rss: number }

export async function enqueueScenario (stack: Stack, tenants: Tenant[], opts: { durationSeconds: number, connections: number, rounds: number }): Promise<EnqueueResult> {
  const bodies = tenants.map((t, i) => JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: `Your appointment is tomorrow at 10:00 (#${i})` }))
  /** One round of one side: a fresh process, warmed, at its most; in the last round also at half that rate. */
  const measure = async (name: 'api' | 'bare', withHalf: boolean): Promise<Measured> => {
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
    let half: LoadResult | undefined
    if (withHalf) {
      half = await runLoad({ ...spec, durationSeconds: opts.durationSeconds, overallRate: Math.max(1, Math.floor(max.rps / 2)) })
      say(`${name}: at ${Math.floor(max.rps / 2)} req/s, p50 ${half.p50Ms} ms, p99 ${half.p99Ms} ms`)
    }
    const rss = api.service.peakRssMb()
    await api.service.stop()
    return { max, half, rss, cpuMsPerRequest }
  }
  const runs: Record<'api' | 'bare', Measured[]> = { api: [], bare: [] }
  for (let i = 0; i < opts.rounds; i++) {
    const last = i === opts.rounds - 1
    for (const name of i % 2 === 0 ? ['bare', 'api'] as const : ['api', 'bare'] as const) runs[name].push(await measure(name, last))
  }
  const summary = (name: 'api' | 'bare') => {
    const rounds = runs[name].map((m) => ({ rps: round(m.max.ok / m.max.durationSeconds, 1), cpuMsPerRequest: m.cpuMsPerRequest }))
    const mid = median(rounds.map((r) => r.rps))
    const at = runs[name][rounds.findIndex((r) => r.rps === mid)]!
    return { rounds, rps: mid, cpuMsPerRequest: median(rounds.map((r) => r.cpuMsPerRequest)), max: at.max, half: runs[name].at(-1)!.half!, rss: Math.max(...runs[name].map((m) => m.rss)) }
  }
  const bare = summary('bare')
  const api = summary('api')
  if (opts.rounds > 1) say(`enqueue: medians of ${opts.rounds} rounds: api ${api.rps} req/s (${api.rounds.map((r) => r.rps).join(', ')}), bare ${bare.rps} (${bare.rounds.map((r) => r.rps).join(', ')})`)
  return {
    enqueue_ratio: round(api.rps / bare.rps),
    enqueue_p99_ms: api.half.p99Ms,
    api_rss_mb: api.rss,
    enqueue_cpu_ratio: round(bare.cpuMsPerRequest / api.cpuMsPerRequest),
    details: {
      api: { max: api.max, half: api.half, cpuMsPerRequest: api.cpuMsPerRequest, rounds: api.rounds },
      bare: { max: bare.max, half: bare.half, cpuMsPerRequest: bare.cpuMsPerRequest, rounds: bare.rounds },
      connections: opts.connections,
      durationSeconds: opts.durationSeconds,
    },
  }
}
