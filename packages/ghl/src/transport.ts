/**
 * The one response path to HighLevel's API, for the typed family clients and for the proxy alike:
 * one undici pool per origin, one deadline per call, HighLevel's rate-limit headers read and
 * reported for the location that spent them (the daily limit is kept from them), and every
 * failure turned into a GhlError whose kind tells the caller what to do.
 */
import { Pool, type Dispatcher } from 'undici'
import { classifyAnswer, GhlError } from './errors.ts'
import { parseRateLimit, retryAfterMs, type RateLimit, type ResponseHeaders } from './rate-limit.ts'
import type { GhlAnswer } from './types.ts'

export interface GhlTransportOptions {
  /** Where the token endpoint and the API live (services host). */
  apiBaseUrl: string
  httpTimeoutMs: number
  /** Sockets per origin. */
  connections?: number
  /**
   * Told HighLevel's rate-limit headers of every answer to a call made for a location (the
   * daily budget is kept from them, packages/rate-limits); awaited, so it is known before the
   * next call. Must not throw.
   */
  onRateLimit?: (locationId: string, rateLimit: RateLimit | null, headers: ResponseHeaders) => Promise<void> | void
}

/** A typed call: a JSON answer or a GhlError. */
export interface Call {
  operation: string
  method: 'GET' | 'POST'
  path: string
  query?: Record<string, string>
  version?: string
  accessToken?: string
  form?: Record<string, string>
  /** Sent as JSON: a field left undefined is left out (JSON.stringify's rule). */
  json?: Record<string, unknown>
  /** Overrides `httpTimeoutMs` for this call (the token refresh has its own, longer one). */
  timeoutMs?: number
  /** The location whose budget the call spends; its rate-limit headers are reported for it. */
  locationId?: string
}

export interface Authorized { accessToken: string }

/** A request the proxy passes on: path and query already checked, headers already chosen. */
export interface ForwardCall {
  method: Dispatcher.HttpMethod
  path: string
  query: URLSearchParams
  headers: Record<string, string>
  body?: Buffer
  version: string
  accessToken: string
  /** The location whose budget it spends. */
  locationId: string
}

export interface ForwardAnswer {
  status: number
  headers: ResponseHeaders
  body: Buffer
  rateLimit: RateLimit | null
}

export class GhlTransport {
  private readonly pools = new Map<string, Pool>()
  private readonly apiBaseUrl: URL

  constructor (private readonly options: GhlTransportOptions) {
    this.apiBaseUrl = new URL(options.apiBaseUrl)
  }

  async call<T> (call: Call): Promise<GhlAnswer<T>> {
    const query = call.query ? `?${new URLSearchParams(call.query).toString()}` : ''
    const headers: Record<string, string> = { accept: 'application/json' }
    if (call.version) headers.version = call.version
    if (call.accessToken) headers.authorization = `Bearer ${call.accessToken}`
    let body: string | undefined
    if (call.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(call.form).toString()
    } else if (call.json) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(call.json)
    }
    const answer = await this.exchange({ ...call, pathAndQuery: `${call.path}${query}`, headers, body })
    const { status, headers: responseHeaders, rateLimit } = answer
    const text = answer.body.toString('utf8')
    const parsed = parseJson(text)
    if (status >= 200 && status < 300) {
      if (parsed === undefined) {
        throw new GhlError('transient', `HighLevel answered ${call.operation} with a body that is not JSON`, { operation: call.operation, status, rateLimit })
      }
      return { data: parsed as T, status, rateLimit }
    }
    throw answerFailure(call, status, parsed, responseHeaders, rateLimit)
  }

  /**
   * The proxy's call: any method and path, the caller's body and headers, and HighLevel's answer
   * whatever its status (the caller hands it back unchanged). Only a call that got no answer
   * throws (a transient GhlError).
   */
  async forward (call: ForwardCall): Promise<ForwardAnswer> {
    const headers: Record<string, string> = { ...call.headers, version: call.version, authorization: `Bearer ${call.accessToken}` }
    const query = call.query.toString()
    const { status, headers: answerHeaders, body, rateLimit } = await this.exchange({
      operation: 'proxy', method: call.method, pathAndQuery: `${call.path}${query ? `?${query}` : ''}`, headers,
      body: call.body, locationId: call.locationId,
    })
    return { status, headers: answerHeaders, body, rateLimit }
  }

  async close (): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((pool) => pool.close()))
  }

  private pool (origin: string): Pool {
    let pool = this.pools.get(origin)
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections ?? 32,
        connectTimeout: this.options.httpTimeoutMs,
        headersTimeout: this.options.httpTimeoutMs,
        bodyTimeout: this.options.httpTimeoutMs,
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** One HTTP exchange with HighLevel's API: one deadline, network failures as GhlError, rate-limit headers reported. */
  private async exchange (call: { operation: string, method: Dispatcher.HttpMethod, pathAndQuery: string, headers: Record<string, string>, body?: string | Buffer, timeoutMs?: number, locationId?: string }): Promise<ForwardAnswer> {
    const basePath = withoutTrailingSlashes(this.apiBaseUrl.pathname)
    const timeoutMs = call.timeoutMs ?? this.options.httpTimeoutMs
    const exchange = new Exchange()
    let answer: { status: number, headers: ResponseHeaders, body: Buffer }
    try {
      answer = await exchange.run(this.pool(this.apiBaseUrl.origin), {
        method: call.method, path: `${basePath}${call.pathAndQuery}`, headers: call.headers, body: call.body,
        // The pool's per-phase timeouts must not end a call given a longer deadline.
        ...(call.timeoutMs ? { headersTimeout: call.timeoutMs, bodyTimeout: call.timeoutMs } : {}),
      }, timeoutMs)
    } catch (err) {
      // A body lost after a 2xx status still means HighLevel accepted the call: the status says so.
      throw networkFailure(call.operation, err, exchange.timedOut ? timeoutMs : undefined, exchange.status)
    }
    const rateLimit = parseRateLimit(answer.headers)
    if (call.locationId) await this.options.onRateLimit?.(call.locationId, rateLimit, answer.headers)
    return { ...answer, rateLimit }
  }
}

/**
 * One request and its whole answer, read through undici's handler callbacks: no body stream, no
 * AbortSignal (at a thousand calls a second both were a large share of the worker's garbage).
 * One deadline for the whole exchange (waiting for a socket, connect, headers and body), not per
 * phase: the call fails when it passes, and a request still waiting for a socket then is never
 * written. The timer is cleared once the answer is read.
 */
class Exchange implements Dispatcher.DispatchHandler {
  /** The answer's status, once its head arrived: kept when the body is lost after it. */
  status: number | undefined
  timedOut = false
  private headers: ResponseHeaders = {}
  private readonly chunks: Buffer[] = []
  private controller: Dispatcher.DispatchController | undefined
  private timer: NodeJS.Timeout | undefined
  private settle: { resolve: (answer: { status: number, headers: ResponseHeaders, body: Buffer }) => void, reject: (err: unknown) => void } | undefined

  run (pool: Pool, options: Omit<Dispatcher.DispatchOptions, 'origin'>, timeoutMs: number): Promise<{ status: number, headers: ResponseHeaders, body: Buffer }> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject }
      this.timer = setTimeout(() => {
        this.timedOut = true
        const err = new Error(`no answer within ${timeoutMs} ms`)
        this.controller?.abort(err)
        this.fail(err)
      }, timeoutMs)
      pool.dispatch(options, this)
    })
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // It waited for a socket past its deadline: the caller was told; nothing is written.
    if (this.timedOut) controller.abort(new Error('deadline passed before the request was sent'))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders): void {
    this.status = statusCode
    this.headers = headers
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk)
  }

  onResponseEnd (): void {
    clearTimeout(this.timer)
    const settle = this.settle
    this.settle = undefined
    settle?.resolve({ status: this.status!, headers: this.headers, body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks) })
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.fail(err)
  }

  private fail (err: unknown): void {
    clearTimeout(this.timer)
    const settle = this.settle
    this.settle = undefined
    settle?.reject(err)
  }
}

/** A 2xx answer without the field the caller reads is HighLevel misbehaving for now: transient. */
export function requireField (answer: GhlAnswer<unknown>, field: string, operation: string): void {
  const data = answer.data as Record<string, unknown> | null
  if (!data || typeof data !== 'object' || data[field] === undefined || data[field] === null) {
    throw new GhlError('transient', `HighLevel answered ${operation} without ${field}`, { operation, status: answer.status, rateLimit: answer.rateLimit })
  }
}

export function withoutUndefined<T extends Record<string, unknown>> (value: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined))
}

function answerFailure (call: Call, status: number, body: unknown, headers: ResponseHeaders, rateLimit: RateLimit | null): GhlError {
  const fields = (body && typeof body === 'object' ? body : {}) as { message?: unknown, error?: unknown, traceId?: unknown }
  const messages = Array.isArray(fields.message)
    ? fields.message.map(String)
    : typeof fields.message === 'string' ? [fields.message] : typeof fields.error === 'string' ? [fields.error] : []
  const message = messages.length > 0 ? messages.join('; ') : `HighLevel answered ${status} to ${call.operation}`
  const kind = classifyAnswer(status, message, call.path.startsWith('/oauth/token') ? 'token' : 'api')
  return new GhlError(kind, message, {
    operation: call.operation,
    status,
    messages: messages.length > 0 ? messages : [message],
    traceId: typeof fields.traceId === 'string' ? fields.traceId : undefined,
    retryAfterMs: kind === 'rate_limited' ? retryAfterMs(headers, rateLimit) : undefined,
    rateLimit,
  })
}

function networkFailure (operation: string, err: unknown, timedOutAfterMs: number | undefined, status?: number): GhlError {
  if (timedOutAfterMs !== undefined) {
    return new GhlError('transient', `HighLevel did not answer ${operation} within ${timedOutAfterMs} ms`, { operation, status, networkCode: 'timeout' })
  }
  const code = (err as { code?: unknown })?.code
  const networkCode = typeof code === 'string' ? code : 'network_error'
  // undici's messages name the failure, not the request, so they carry no token.
  const reason = err instanceof Error ? err.message : String(err)
  return new GhlError('transient', `HighLevel could not be reached for ${operation}: ${reason}`, { operation, status, networkCode })
}

function parseJson (text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** `/+$` as a scan: that regex retries from every slash of a run (quadratic), this does not. */
export function withoutTrailingSlashes (value: string): string {
  let end = value.length
  while (end > 0 && value[end - 1] === '/') end--
  return value.slice(0, end)
}
