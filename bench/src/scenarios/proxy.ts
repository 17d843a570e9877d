/**
 * proxy_ratio: POST /api/ghl/:clientId/contacts/search through the api (API key, the client's
 * token from PostgreSQL, the shared per-location budget in Redis, HighLevel's Version and the
 * location id added) over the same search sent straight to the sandbox with the token (autocannon
 * from its own process, same connections and duration); proxy_added_p50_ms: what the proxy adds to
 * the median at the same half rate. proxy_bare_ratio: a bare Fastify route forwarding the same
 * search with undici (bench/src/baselines/bare-api.ts) over the direct call, what one more hop
 * costs whoever builds it; proxy_vs_bare_ratio: ours over that bare proxy. HighLevel's per-location limit is lifted on both sides, as in
 * the worker scenario: it would cap both and measure nothing.
 */
import type { Stack, Tenant } from '../harness/stack.ts'
import { ENTRIES } from '../harness/processes.ts'
import { runLoad, type LoadResult } from '../load/load.ts'
import { round, say } from '../stats.ts'
import { LIFTED_LIMITS } from './worker.ts'

export interface ProxyResult {
  proxy_ratio: number
  proxy_added_p50_ms: number
  proxy_bare_ratio: number
  proxy_vs_bare_ratio: number
  details: { proxy: { max: LoadResult, half: LoadResult }, direct: { max: LoadResult, half: LoadResult }, bare: { max: LoadResult }, connections: number, durationSeconds: number, ghlLatencyMs: number }
}

/** `ghlLatencyMs`: HighLevel answers that late, every side (0: at once, and the rates measure CPU); `connections`: the load's, every side. */
export async function proxyScenario (stack: Stack, tenant: Tenant, opts: { durationSeconds: number, connections: number, ghlLatencyMs?: number }): Promise<ProxyResult> {
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  if (opts.ghlLatencyMs) await stack.sandbox.setFaults({ latencyMs: opts.ghlLatencyMs })
  const accessToken = (await stack.integrations.findByClient(tenant.clientId))!.accessToken!
  const api = await stack.startApi(LIFTED_LIMITS)
  const bareApi = await stack.startApi({ BARE_PROXY_TOKEN: accessToken, BARE_PROXY_LOCATION_ID: tenant.locationId }, 'bare-proxy', ENTRIES.bareApi)
  const json = { 'content-type': 'application/json' }
  const specs = {
    proxy: { url: api.url, method: 'POST' as const, path: `/api/ghl/${tenant.clientId}/contacts/search`, bodies: [JSON.stringify({ pageLimit: 10, query: '' })], headers: { ...json, authorization: `Bearer ${api.apiKey}` } },
    bare: { url: bareApi.url, method: 'POST' as const, path: `/api/ghl/${tenant.clientId}/contacts/search`, bodies: [JSON.stringify({ pageLimit: 10, query: '' })], headers: json },
    direct: { url: stack.base.GHL_API_BASE_URL!, method: 'POST' as const, path: '/contacts/search', bodies: [JSON.stringify({ locationId: tenant.locationId, pageLimit: 10, query: '' })], headers: { ...json, authorization: `Bearer ${accessToken}`, version: '2021-07-28' } },
  }
  const measure = async (name: 'proxy' | 'direct' | 'bare') => {
    const spec = { ...specs[name], connections: opts.connections }
    await runLoad({ ...spec, durationSeconds: 3 }) // warm-up
    const max = await runLoad({ ...spec, durationSeconds: opts.durationSeconds })
    say(`${name}: ${round(max.rps, 0)} req/s at most (${max.non2xx} non-2xx, ${max.errors} errors), p50 ${max.p50Ms} ms`)
    return max
  }
  try {
    const direct = await measure('direct')
    const proxy = await measure('proxy')
    const bare = await measure('bare')
    // Both at the same rate (half the direct maximum's or the proxy's, whichever is lower), for the added latency.
    const rate = Math.max(1, Math.floor(Math.min(direct.rps, proxy.rps) / 2))
    const directHalf = await runLoad({ ...specs.direct, connections: opts.connections, durationSeconds: opts.durationSeconds, overallRate: rate })
    const proxyHalf = await runLoad({ ...specs.proxy, connections: opts.connections, durationSeconds: opts.durationSeconds, overallRate: rate })
    say(`at ${rate} req/s: direct p50 ${directHalf.p50Ms} ms, proxy p50 ${proxyHalf.p50Ms} ms`)
    return {
      proxy_ratio: round(proxy.ok / proxy.durationSeconds / (direct.ok / direct.durationSeconds)),
      proxy_added_p50_ms: round(proxyHalf.p50Ms - directHalf.p50Ms, 1),
      proxy_bare_ratio: round(bare.ok / bare.durationSeconds / (direct.ok / direct.durationSeconds)),
      proxy_vs_bare_ratio: round(proxy.ok / proxy.durationSeconds / (bare.ok / bare.durationSeconds)),
      details: { proxy: { max: proxy, half: proxyHalf }, direct: { max: direct, half: directHalf }, bare: { max: bare }, connections: opts.connections, durationSeconds: opts.durationSeconds, ghlLatencyMs: opts.ghlLatencyMs ?? 0 },
    }
  } finally {
    await api.service.stop()
    await bareApi.service.stop()
    await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
    if (opts.ghlLatencyMs) await stack.sandbox.clearFaults()
  }
}
