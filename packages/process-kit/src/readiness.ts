/**
 * The readiness probe every process answers with: each dependency checked at once, each bounded
 * by a timeout, so one hung backend makes the answer "unavailable" instead of hanging the probe.
 */

export interface Check { ok: boolean, error?: string }
/** What /readyz answers: 200 or 503, and `{status, <dependency>: {ok, error?}}`. */
export interface Readiness<N extends string> {
  ready: boolean
  statusCode: 200 | 503
  body: { status: 'ready' | 'unavailable' } & Record<N, Check>
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())])

async function check (probe: () => unknown, timeoutMs: number): Promise<Check> {
  try {
    await withTimeout(Promise.resolve().then(probe), timeoutMs)
    return { ok: true }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
}

export function readinessProbe<N extends string> (probes: Record<N, () => unknown>, timeoutMs = 2000): () => Promise<Readiness<N>> {
  const names = Object.keys(probes) as N[]
  return async () => {
    const results = await Promise.all(names.map((name) => check(probes[name], timeoutMs)))
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!])) as Record<N, Check>
    const ready = results.every((r) => r.ok)
    return { ready, statusCode: ready ? 200 : 503, body: { status: ready ? 'ready' : 'unavailable', ...checks } }
  }
}
