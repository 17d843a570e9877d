/**
 * The readiness probe every process answers with: each dependency checked at once, each bounded
 * by a timeout, so one hung backend makes the answer "unavailable" instead of hanging the probe.
 * The answer names each dependency and ok or not, nothing more: a backend's error text (host
 * names, ports, driver messages) is for the log (`onFailure`), not for whoever can reach /readyz.
 */

export interface Check { ok: boolean }
/** What /readyz answers: 200 or 503, and `{status, <dependency>: {ok}}`. */
export interface Readiness<N extends string> {
  ready: boolean
  statusCode: 200 | 503
  body: { status: 'ready' | 'unavailable' } & Record<N, Check>
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())])

export interface ReadinessOptions {
  timeoutMs?: number
  /** Told why a dependency failed (for the log). */
  onFailure?: (dependency: string, err: unknown) => void
}

export function readinessProbe<N extends string> (probes: Record<N, () => unknown>, opts: ReadinessOptions = {}): () => Promise<Readiness<N>> {
  const { timeoutMs = 2000, onFailure = () => {} } = opts
  const names = Object.keys(probes) as N[]
  const check = async (name: N): Promise<Check> => {
    try {
      await withTimeout(Promise.resolve().then(probes[name]), timeoutMs)
      return { ok: true }
    } catch (err) {
      onFailure(name, err)
      return { ok: false }
    }
  }
  return async () => {
    const results = await Promise.all(names.map(check))
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!])) as Record<N, Check>
    const ready = results.every((r) => r.ok)
    return { ready, statusCode: ready ? 200 : 503, body: { status: ready ? 'ready' : 'unavailable', ...checks } }
  }
}
