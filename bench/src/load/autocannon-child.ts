/**
 * The load generator's own process (so it does not share an event loop with what it measures):
 * reads a LoadSpec as JSON from argv, runs autocannon over loopback, prints one JSON LoadResult.
 */
import autocannon from 'autocannon'
import type { LoadResult, LoadSpec } from './load.ts'

const spec = JSON.parse(process.argv[2]!) as LoadSpec
let n = 0
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSeconds,
  ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  requests: [{
    method: spec.method,
    path: spec.path,
    headers: spec.headers,
    // A different tenant per request, so no one client's rows or counters are the only ones hit.
    setupRequest: (req) => {
      const bodies = spec.bodies
      if (!bodies || bodies.length === 0) return req
      return { ...req, body: bodies[n++ % bodies.length] }
    },
  }],
})
const out: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.total / (result.duration || spec.durationSeconds),
  ok: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  maxMs: result.latency.max,
  durationSeconds: result.duration,
}
process.stdout.write(`${JSON.stringify(out)}\n`)
