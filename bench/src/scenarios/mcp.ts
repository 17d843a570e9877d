/**
 * mcp_*: the CRM's assistant calling the find_contacts tool: POST /mcp with a client access token
 * scoped contacts:read (minted through POST /api/clients/:clientId/access-tokens, as the CRM does),
 * one JSON-RPC tools/call a request (Streamable HTTP, stateless: no initialize, each POST stands
 * alone), the api checking the token in PostgreSQL, building the MCP server for the client and
 * searching its contacts through the HighLevel proxy. Beside it, the same search sent straight to
 * the sandbox with the client's HighLevel token (proxy.ts's direct call). autocannon from its own
 * process, the same connections and duration on both sides.
 * mcp_ratio: tool calls per second at the most over direct searches per second at the most;
 * mcp_call_p50_ms / mcp_call_p99_ms: the tool call's latency at a fixed rate, half the lower of
 * the two maxima, both sides at it; mcp_added_p50_ms: what the MCP call adds to the median there.
 * A tool error is still HTTP 200, so the api's audit lines ("MCP tool call", one per call) are
 * counted: every call must have found contacts, or the figures measure failures.
 * HighLevel's per-location limit and the token's request budget are lifted: they would cap the
 * rate and measure nothing.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Stack, Tenant } from '../harness/stack.ts'
import { runLoad, type LoadResult } from '../load/load.ts'
import { round, say } from '../stats.ts'
import { LIFTED_LIMITS } from './worker.ts'

export interface McpResult {
  mcp_call_p50_ms: number
  mcp_call_p99_ms: number
  mcp_added_p50_ms: number
  mcp_ratio: number
  details: {
    mcp: { max: LoadResult, half: LoadResult }, direct: { max: LoadResult, half: LoadResult }, halfRate: number,
    /** Tool calls the api logged, by outcome ('ok' or the tool error's code). */
    toolOutcomes: Record<string, number>, tool: string, connections: number, durationSeconds: number,
  }
}

const API_NAME = 'api-mcp'
const PAGE_LIMIT = 10

/** The api's "MCP tool call" audit lines, counted by outcome. */
function toolOutcomes (logFile: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"audit":"mcp_tool"')) continue
    const outcome = String((JSON.parse(line) as { outcome?: unknown }).outcome)
    counts[outcome] = (counts[outcome] ?? 0) + 1
  }
  return counts
}

export async function mcpScenario (stack: Stack, tenant: Tenant, opts: { durationSeconds: number, connections: number }): Promise<McpResult> {
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  const accessToken = (await stack.integrations.findByClient(tenant.clientId))!.accessToken!
  const api = await stack.startApi({ ...LIFTED_LIMITS, CLIENT_TOKEN_RATE_LIMIT_MAX: '1000000000' }, API_NAME)
  try {
    const json = { 'content-type': 'application/json' }
    const minted = await fetch(`${api.url}/api/clients/${tenant.clientId}/access-tokens`, {
      method: 'POST', headers: { ...json, authorization: `Bearer ${api.apiKey}` }, body: JSON.stringify({ name: 'bench assistant', scopes: ['contacts:read'] }),
    })
    if (minted.status !== 201) throw new Error(`minting the client access token answered ${minted.status}`)
    const { token } = await minted.json() as { token: string }

    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'find_contacts', arguments: { query: '', limit: PAGE_LIMIT } } })
    const specs = {
      // MCP's Streamable HTTP asks the client to accept both; the answer is JSON (enableJsonResponse).
      mcp: { url: api.url, method: 'POST' as const, path: '/mcp', bodies: [call], headers: { ...json, accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` } },
      direct: { url: stack.base.GHL_API_BASE_URL!, method: 'POST' as const, path: '/contacts/search', bodies: [JSON.stringify({ locationId: tenant.locationId, pageLimit: PAGE_LIMIT, query: '' })], headers: { ...json, authorization: `Bearer ${accessToken}`, version: '2021-07-28' } },
    }

    // One call first: a tool error answers 200 too, and would be timed as a success.
    const first = await fetch(`${api.url}${specs.mcp.path}`, { method: 'POST', headers: specs.mcp.headers, body: call })
    const answer = await first.json() as { result?: { isError?: boolean, structuredContent?: { contacts?: unknown[] } } }
    if (first.status !== 200 || answer.result?.isError || !answer.result?.structuredContent?.contacts?.length) {
      throw new Error(`the find_contacts tool call did not find the tenant's contact (HTTP ${first.status}, isError ${String(answer.result?.isError)}); see ${stack.dir}/${API_NAME}.log`)
    }

    const measure = async (name: 'mcp' | 'direct') => {
      const spec = { ...specs[name], connections: opts.connections }
      await runLoad({ ...spec, durationSeconds: 3 }) // warm-up: JIT, pools, the MCP SDK's first load
      const max = await runLoad({ ...spec, durationSeconds: opts.durationSeconds })
      say(`${name}: ${round(max.rps, 0)} req/s at most (${max.non2xx} non-2xx, ${max.errors} errors), p50 ${max.p50Ms} ms, p99 ${max.p99Ms} ms`)
      return max
    }
    const direct = await measure('direct')
    const mcp = await measure('mcp')
    // Both at the same rate (half the lower maximum), for the latency the call adds.
    const halfRate = Math.max(1, Math.floor(Math.min(direct.rps, mcp.rps) / 2))
    const directHalf = await runLoad({ ...specs.direct, connections: opts.connections, durationSeconds: opts.durationSeconds, overallRate: halfRate })
    const mcpHalf = await runLoad({ ...specs.mcp, connections: opts.connections, durationSeconds: opts.durationSeconds, overallRate: halfRate })
    say(`at ${halfRate} req/s: direct p50 ${directHalf.p50Ms} ms, p99 ${directHalf.p99Ms} ms; mcp p50 ${mcpHalf.p50Ms} ms, p99 ${mcpHalf.p99Ms} ms`)

    await api.service.stop() // its last lines written before they are counted
    const outcomes = toolOutcomes(join(stack.dir, `${API_NAME}.log`))
    const failed = Object.entries(outcomes).filter(([outcome]) => outcome !== 'ok')
    say(failed.length === 0 ? `mcp: ${outcomes.ok ?? 0} tool calls logged, every one ok`
      : `mcp: tool errors during the run: ${failed.map(([o, n]) => `${n} ${o}`).join(', ')} (the figures count them as answered)`)
    return {
      mcp_call_p50_ms: mcpHalf.p50Ms,
      mcp_call_p99_ms: mcpHalf.p99Ms,
      mcp_added_p50_ms: round(mcpHalf.p50Ms - directHalf.p50Ms, 1),
      mcp_ratio: round(mcp.ok / mcp.durationSeconds / (direct.ok / direct.durationSeconds)),
      details: { mcp: { max: mcp, half: mcpHalf }, direct: { max: direct, half: directHalf }, halfRate, toolOutcomes: outcomes, tool: 'find_contacts', connections: opts.connections, durationSeconds: opts.durationSeconds },
    }
  } finally {
    await api.service.stop()
    await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
  }
}
