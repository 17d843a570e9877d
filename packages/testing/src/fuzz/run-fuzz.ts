/**
 * Sends the fuzz requests through a transport and checks each answer: never a 5xx, never a
 * crash; every 4xx of a machine route is `{error, message}` JSON with a stable code (snake_case
 * identifier, from a finite set), every 4xx of a browser route an HTML page naming its code.
 */
import fc from 'fast-check'
import { fuzzRequests, type FuzzRequest } from './requests.ts'

export interface FuzzAnswer { statusCode: number, headers: Record<string, unknown>, body: string }
export type Transport = (req: FuzzRequest) => Promise<FuzzAnswer>

export interface FuzzFinding { problem: string, request: { route: string, method: string, url: string, headers: Record<string, string>, payload?: string }, statusCode?: number, body?: string }

export interface FuzzReport {
  requests: number
  byStatus: Record<string, number>
  byRoute: Record<string, number>
  codes: Record<string, number>
  serverErrors: FuzzFinding[]
  unstable: FuzzFinding[]
}

const CODE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/

/**
 * A code built from what the caller sent (e.g. `ghl_<their text>`) is no stable code: the set of
 * codes a client switches on must be finite. Flags a code whose tail after a prefix is text the
 * request carried (as the app would sanitise it: letters and underscores).
 */
function echoed (code: string, req: FuzzRequest): boolean {
  // Only what the caller chose: query values (not names) and the body.
  let sent: string
  try { sent = [...new URLSearchParams(req.url.split('?')[1] ?? '').values()].join(' ') } catch { sent = req.url }
  if (typeof req.payload === 'string') sent += ` ${req.payload}`
  const plain = sent.toLowerCase().replace(/[^a-z_]/g, '')
  const cut = code.indexOf('_')
  const tail = cut > 0 ? code.slice(cut + 1) : ''
  return tail.length >= 3 && plain.includes(tail) && !/^(request|signature|link|state|code|json|api_key|found|connected|not_found|error)$/.test(tail)
}

export function checkAnswer (req: FuzzRequest, answer: FuzzAnswer): { problem?: string, code?: string } {
  const { statusCode, headers, body } = answer
  if (statusCode >= 500) return { problem: `${statusCode} server error` }
  if (statusCode < 400) return {}
  const type = String(headers['content-type'] ?? '')
  if (req.kind === 'browser' && type.startsWith('text/html')) {
    const code = /<code id="code">([^<]*)<\/code>/.exec(body)?.[1]
    if (!code || !CODE.test(code)) return { problem: `${statusCode} HTML page without an error code` }
    return echoed(code, req) ? { code, problem: `${statusCode} error code "${code}" is built from the request's own text` } : { code }
  }
  if (!type.startsWith('application/json')) return { problem: `${statusCode} answered as ${type || 'no content type'}, not JSON` }
  let parsed: unknown
  try { parsed = JSON.parse(body) } catch { return { problem: `${statusCode} body is not JSON` } }
  const { error, message } = (parsed ?? {}) as { error?: unknown, message?: unknown }
  if (typeof error !== 'string' || !CODE.test(error)) return { problem: `${statusCode} without a stable error code (error=${JSON.stringify(error)})` }
  if (typeof message !== 'string' || message.trim() === '') return { problem: `${statusCode} ${error} without a message` }
  if (echoed(error, req)) return { code: error, problem: `${statusCode} error code "${error}" is built from the request's own text` }
  if (req.kind === 'browser') return { code: error, problem: `${statusCode} ${error}: a browser route answered JSON, not an HTML page` }
  return { code: error }
}

const shown = (req: FuzzRequest): FuzzFinding['request'] => ({
  route: req.route, method: req.method, url: req.url.length > 300 ? `${req.url.slice(0, 300)}…` : req.url, headers: req.headers,
  ...(req.payload !== undefined ? { payload: (Buffer.isBuffer(req.payload) ? req.payload.toString('base64') : req.payload).slice(0, 300) } : {}),
})

export async function runFuzz (send: Transport, opts: { apiKey: string, runs: number, seed: number, concurrency?: number }): Promise<FuzzReport> {
  const requests = fc.sample(fuzzRequests(opts.apiKey), { seed: opts.seed, numRuns: opts.runs })
  const report: FuzzReport = { requests: 0, byStatus: {}, byRoute: {}, codes: {}, serverErrors: [], unstable: [] }
  const one = async (req: FuzzRequest) => {
    let answer: FuzzAnswer
    try {
      answer = await send(req)
    } catch (err) {
      report.serverErrors.push({ problem: `no answer: ${(err as Error).message}`, request: shown(req) })
      return
    }
    report.requests++
    report.byStatus[answer.statusCode] = (report.byStatus[answer.statusCode] ?? 0) + 1
    report.byRoute[req.route] = (report.byRoute[req.route] ?? 0) + 1
    const { problem, code } = checkAnswer(req, answer)
    if (code) report.codes[code] = (report.codes[code] ?? 0) + 1
    if (problem) {
      const finding = { problem, request: shown(req), statusCode: answer.statusCode, body: answer.body.slice(0, 300) }
      if (answer.statusCode >= 500) report.serverErrors.push(finding)
      else report.unstable.push(finding)
    }
  }
  const concurrency = opts.concurrency ?? 8
  for (let i = 0; i < requests.length; i += concurrency) await Promise.all(requests.slice(i, i + concurrency).map(one))
  return report
}

/** One line per kind of problem, with its first example, for a readable failure. */
export function summarize (findings: FuzzFinding[]): string {
  const byProblem = new Map<string, { count: number, example: FuzzFinding }>()
  for (const f of findings) {
    const key = `${f.request.route}: ${f.problem}`
    const seen = byProblem.get(key)
    if (seen) seen.count++
    else byProblem.set(key, { count: 1, example: f })
  }
  return [...byProblem.entries()].map(([key, { count, example }]) => `${count} x ${key}\n    e.g. ${JSON.stringify(example)}`).join('\n')
}
