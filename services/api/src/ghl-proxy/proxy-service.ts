/**
 * The HighLevel proxy: a CRM's call to `/api/ghl/:clientId/<HighLevel path>` goes to HighLevel
 * with that client's token, as the worker's own calls do. One path for everything a call needs:
 *   - only the families the app's scopes cover (packages/ghl proxy-paths), nothing that climbs out;
 *   - the client's token through the one refresh path: an expired token is refreshed once and the
 *     call retried once (withFreshToken);
 *   - a slot of the location's rate limit, shared with the worker's SMS (packages/rate-limits);
 *     a spent daily budget answers 429 `daily_limit_reached` without calling HighLevel;
 *   - the `Version` of the path's family, the location id where the spec requires it;
 *   - 429, 5xx and network failures retried (bounded, honouring Retry-After) only for
 *     GET/HEAD/PUT/DELETE: a POST or PATCH may have been carried out, so it is never repeated.
 * HighLevel's status, body and headers that matter (content type, rate limits) come back as they are.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { IncomingHttpHeaders } from 'node:http'
import { AppError, badGateway, forbidden, tooManyRequests } from '@ghl-connect/errors'
import {
  classifyAnswer, FAMILY_VERSIONS, GhlError, locationNeedOf, proxyFamilyOf, retryAfterMs,
  type ForwardAnswer, type GhlClient, type ProxyFamily,
} from '@ghl-connect/ghl'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { LocationRateLimiter } from '@ghl-connect/rate-limits'
import { withFreshToken, type AccessToken, type Credentials, type TokenService } from '@ghl-connect/tokens'

export interface ProxyRequest {
  clientId: string
  method: string
  /** The HighLevel path as the caller sent it (still percent-encoded), from its first `/`. */
  path: string
  /** The query string as sent, without `?`. */
  query: string
  headers: IncomingHttpHeaders
  body?: Buffer
}

export interface ProxyAnswer {
  family: ProxyFamily
  status: number
  headers: Record<string, string>
  body: Buffer
}

export interface ProxyOptions {
  /** Longest wait for a slot of the location's rate limit before answering 429 `rate_limited`. */
  maxWaitMs: number
  /** Retries of a GET/HEAD/PUT/DELETE after a 429, 5xx or no answer. */
  retries: number
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
/** Carrying these out twice does what once does: safe to retry. */
const REPEATABLE = new Set(['GET', 'HEAD', 'PUT', 'DELETE'])
/** Request headers passed on; everything else (our Authorization, cookies, hop-by-hop headers, Host...) stays here. */
const REQUEST_HEADERS = ['accept', 'accept-language', 'content-type', 'if-match', 'if-none-match']
/** Answer headers passed back; hop-by-hop and HighLevel's infrastructure headers are not. */
const ANSWER_HEADERS = /^(content-type|content-language|etag|last-modified|cache-control|retry-after|x-ratelimit-[a-z-]+)$/
const PLACEHOLDER = /(^|\/)(\{locationId\}|%7BlocationId%7D)(?=\/|$)/gi
const RETRY_BASE_MS = 250

/** HighLevel's 401 for an expired token, carrying the answer for when the one refresh does not help. */
class ExpiredTokenAnswer extends GhlError {
  constructor (readonly answer: ForwardAnswer) {
    super('token_expired', 'HighLevel refused the access token as expired', { operation: 'proxy', status: answer.status })
  }
}

export class GhlProxy {
  constructor (
    private readonly ghl: GhlClient,
    private readonly credentials: Credentials,
    private readonly tokens: Pick<TokenService, 'refreshNow'>,
    private readonly rateLimiter: LocationRateLimiter,
    private readonly opts: ProxyOptions,
    private readonly metrics?: Metrics,
  ) {}

  /** The family of a path, or 403 `path_not_allowed`. */
  familyOf (path: string): ProxyFamily {
    const family = proxyFamilyOf(path)
    if (!family) {
      throw forbidden('path_not_allowed', 'Only HighLevel paths under /contacts, /conversations, /opportunities, /calendars and /locations go through the proxy, without "..", "." or encoded slashes.')
    }
    return family
  }

  async forward (request: ProxyRequest): Promise<ProxyAnswer> {
    const family = this.familyOf(request.path)
    const method = request.method.toUpperCase()
    if (!METHODS.has(method)) throw new AppError(405, 'method_not_allowed', `HighLevel is called with GET, HEAD, POST, PUT, PATCH or DELETE, not ${method}.`)
    const credential = await this.credentials.forClient(request.clientId)
    const withToken = withFreshToken(this.tokens, credential)
    let answer: ForwardAnswer
    try {
      answer = await withToken((token) => this.send(family, method, request, token))
    } catch (err) {
      // Still refused after the one refresh: HighLevel's 401 goes back as it is.
      if (err instanceof ExpiredTokenAnswer) answer = err.answer
      else throw err
    }
    return { family, status: answer.status, headers: answerHeaders(answer), body: answer.body }
  }

  private async send (family: ProxyFamily, method: string, request: ProxyRequest, token: AccessToken): Promise<ForwardAnswer> {
    const path = request.path.replace(PLACEHOLDER, `$1${encodeURIComponent(token.locationId)}`)
    const query = new URLSearchParams(request.query)
    const need = locationNeedOf(method, path)
    if (need?.query && !query.has(need.query)) query.set(need.query, token.locationId)
    const body = need?.body ? withLocationId(request.body, request.headers['content-type'], token.locationId) : request.body
    const repeatable = REPEATABLE.has(method)
    for (let attempt = 0; ; attempt++) {
      await this.slot(token.locationId)
      let answer: ForwardAnswer
      try {
        answer = await timeGhlCall(this.metrics, `proxy_${family}`, () => this.ghl.forward({
          method: method as 'GET', path, query, headers: requestHeaders(request.headers), body: method === 'GET' || method === 'HEAD' ? undefined : body,
          version: FAMILY_VERSIONS[family], accessToken: token.accessToken, locationId: token.locationId,
        }))
      } catch (err) {
        if (repeatable && attempt < this.opts.retries) {
          await sleep(backoffMs(attempt))
          continue
        }
        throw unreachable(err, repeatable)
      }
      if (answer.status === 401 && classifyAnswer(401, messageOf(answer.body), 'api') === 'token_expired') throw new ExpiredTokenAnswer(answer)
      if (repeatable && attempt < this.opts.retries && (answer.status === 429 || answer.status >= 500)) {
        const waitMs = answer.status === 429 ? retryAfterMs(answer.headers, answer.rateLimit) : backoffMs(attempt)
        // A daily refusal, or a wait longer than a caller should hold a request, goes back as it is.
        if (answer.rateLimit?.dailyRemaining !== 0 && waitMs <= this.opts.maxWaitMs) {
          await sleep(waitMs)
          continue
        }
      }
      return answer
    }
  }

  /** Waits for a slot of the location's budget (each HTTP attempt takes one), or answers 429. */
  private async slot (locationId: string): Promise<void> {
    const holder = `proxy-${randomUUID()}`
    for (;;) {
      // A wait past maxWaitMs reserves nothing, so a caller's refused calls never push the SMS back.
      const { waitMs, dailySpent } = await this.rateLimiter.take(locationId, holder, 1, { maxWaitMs: Math.max(1, this.opts.maxWaitMs) })
      if (waitMs <= 0) return
      const seconds = Math.ceil(waitMs / 1000)
      if (dailySpent) {
        throw tooManyRequests('daily_limit_reached', `GoHighLevel's daily API budget for this sub-account is spent; it resets in about ${Math.ceil(seconds / 60)} minutes (Retry-After). SMS to it wait and go after the reset.`, seconds)
      }
      if (waitMs > this.opts.maxWaitMs) {
        throw tooManyRequests('rate_limited', `This sub-account's GoHighLevel rate limit (shared with its SMS) has no slot for ${seconds} seconds; retry after that.`, seconds)
      }
      await sleep(waitMs)
    }
  }
}

function requestHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of REQUEST_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string') out[name] = value
  }
  return out
}

function answerHeaders (answer: ForwardAnswer): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && ANSWER_HEADERS.test(name)) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/** The JSON body with `locationId` added when the caller left it out; any other body as it is. */
function withLocationId (body: Buffer | undefined, contentType: string | undefined, locationId: string): Buffer | undefined {
  if (!/^application\/json/i.test(contentType ?? '')) return body
  try {
    const parsed: unknown = body && body.length > 0 ? JSON.parse(body.toString('utf8')) : {}
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || 'locationId' in parsed) return body
    return Buffer.from(JSON.stringify({ ...parsed, locationId }))
  } catch {
    return body // not JSON: HighLevel says so
  }
}

function messageOf (body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown }
    return Array.isArray(parsed.message) ? parsed.message.join('; ') : String(parsed.message ?? '')
  } catch {
    return ''
  }
}

function backoffMs (attempt: number): number {
  return RETRY_BASE_MS * 2 ** attempt * (0.5 + Math.random() / 2)
}

function unreachable (err: unknown, repeatable: boolean): AppError {
  const timedOut = err instanceof GhlError && err.networkCode === 'timeout'
  return badGateway(timedOut ? 'ghl_timeout' : 'ghl_unreachable', `GoHighLevel ${timedOut ? 'did not answer in time' : 'could not be reached'}.${repeatable ? ' Retry in a moment.' : ' The call may or may not have been carried out: check in GoHighLevel before sending it again.'}`)
}
