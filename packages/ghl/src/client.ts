/**
 * The only code that speaks HTTP to HighLevel. One undici pool per origin, a deadline on every
 * call, the documented `Version` header per endpoint, and every failure turned into a GhlError
 * whose kind tells the caller what to do.
 */
import { Pool, type Dispatcher } from 'undici'
import { classifyAnswer, GhlError } from './errors.ts'
import { parseRateLimit, retryAfterMs, type RateLimit, type ResponseHeaders } from './rate-limit.ts'
import type {
  ContactSearchResult, ConversationMessagesPage, ConversationSearchResult, ExportMessagesResult, GhlAnswer, GhlContact, GhlLocation,
  InstalledLocationsResult, LocationTokenResponse, MessageChannel,
  SendMessageResult, TokenResponse, UpsertContactResult, UserType,
} from './types.ts'

/** The `ghl` section of @ghl-connect/config fits as it is. */
export interface GhlClientOptions {
  clientId: string
  clientSecret: string
  redirectUri: string
  /** Where the browser is sent to approve (marketplace host). */
  authBaseUrl: string
  /** Where the token endpoint and the API live (services host). */
  apiBaseUrl: string
  httpTimeoutMs: number
  /** Scopes asked for by `authorizeUrl` when the call names none. */
  scopes?: readonly string[]
  /** Sockets per origin. */
  connections?: number
  /**
   * Told HighLevel's rate-limit headers of every answer to a call made for a location (the
   * daily budget is kept from them, packages/rate-limits); awaited, so it is known before the
   * next call. Must not throw.
   */
  onRateLimit?: (locationId: string, rateLimit: RateLimit | null, headers: ResponseHeaders) => Promise<void> | void
}

/** HighLevel versions each endpoint separately; a wrong one is refused. */
export const GHL_VERSIONS = {
  contacts: '2021-07-28',
  locations: '2021-07-28',
  conversations: '2021-04-15',
  oauth: '2021-07-28',
  opportunities: '2021-07-28',
  calendars: '2021-04-15',
} as const

interface Call {
  operation: string
  method: 'GET' | 'POST'
  path: string
  query?: Record<string, string>
  version?: string
  accessToken?: string
  form?: Record<string, string>
  json?: Record<string, unknown>
  /** Overrides `httpTimeoutMs` for this call (the token refresh has its own, longer one). */
  timeoutMs?: number
  /** The location whose budget the call spends; its rate-limit headers are reported for it. */
  locationId?: string
}

interface Authorized { accessToken: string }

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

export class GhlClient {
  private readonly pools = new Map<string, Pool>()
  private readonly authBaseUrl: string
  private readonly apiBaseUrl: URL

  constructor (private readonly options: GhlClientOptions) {
    this.authBaseUrl = withoutTrailingSlashes(options.authBaseUrl)
    this.apiBaseUrl = new URL(options.apiBaseUrl)
  }

  /** HighLevel's consent page (chooselocation) for this app. `state` comes back on the callback. */
  authorizeUrl ({ state, scopes, loginWindowOpenMode }: { state?: string, scopes?: readonly string[], loginWindowOpenMode?: 'self' } = {}): string {
    const params: Array<[string, string]> = [
      ['response_type', 'code'],
      ['client_id', this.options.clientId],
      ['redirect_uri', this.options.redirectUri],
      ['scope', (scopes ?? this.options.scopes ?? []).join(' ')],
    ]
    if (state !== undefined) params.push(['state', state])
    if (loginWindowOpenMode) params.push(['loginWindowOpenMode', loginWindowOpenMode])
    // encodeURIComponent, not URLSearchParams: scopes must be separated by %20, not `+`.
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
    return `${this.authBaseUrl}/v2/oauth/chooselocation?${query}`
  }

  exchangeCode ({ code, userType = 'Location' }: { code: string, userType?: UserType }): Promise<GhlAnswer<TokenResponse>> {
    return this.tokenCall('exchangeCode', { grant_type: 'authorization_code', code, user_type: userType })
  }

  /** `timeoutMs`: HighLevel spends the refresh token when it accepts, so giving up early loses the new pair. */
  refreshToken ({ refreshToken, userType = 'Location', timeoutMs }: { refreshToken: string, userType?: UserType, timeoutMs?: number }): Promise<GhlAnswer<TokenResponse>> {
    return this.tokenCall('refreshToken', { grant_type: 'refresh_token', refresh_token: refreshToken, user_type: userType }, timeoutMs)
  }

  /** An agency (Company) token mints a token for one of its locations. */
  async getLocationToken ({ accessToken, companyId, locationId }: Authorized & { companyId: string, locationId: string }): Promise<GhlAnswer<LocationTokenResponse>> {
    const answer = await this.call<LocationTokenResponse>({
      operation: 'getLocationToken', method: 'POST', path: '/oauth/locationToken', version: GHL_VERSIONS.oauth,
      accessToken, form: { companyId, locationId },
    })
    requireField(answer, 'access_token', 'getLocationToken')
    return answer
  }

  /** One page of the locations of `companyId` the app `appId` is installed on (agency token). */
  async getInstalledLocations ({ accessToken, companyId, appId, skip = 0, limit = 100 }: Authorized & { companyId: string, appId: string, skip?: number, limit?: number }): Promise<GhlAnswer<InstalledLocationsResult>> {
    const answer = await this.call<InstalledLocationsResult>({
      operation: 'getInstalledLocations', method: 'GET', path: '/oauth/installedLocations', version: GHL_VERSIONS.oauth,
      accessToken, query: { companyId, appId, isInstalled: 'true', skip: String(skip), limit: String(limit) },
    })
    requireField(answer, 'locations', 'getInstalledLocations')
    return answer
  }

  async getLocation ({ accessToken, locationId }: Authorized & { locationId: string }): Promise<GhlAnswer<{ location: GhlLocation }>> {
    const answer = await this.call<{ location: GhlLocation }>({
      operation: 'getLocation', method: 'GET', path: `/locations/${encodeURIComponent(locationId)}`,
      version: GHL_VERSIONS.locations, accessToken, locationId,
    })
    requireField(answer, 'location', 'getLocation')
    return answer
  }

  /** One page (`page` from 1, `pageLimit` per page) of the contacts matching `query`; `total` counts them all. */
  async searchContacts ({ accessToken, locationId, query, page = 1, pageLimit = 20 }: Authorized & { locationId: string, query: string, page?: number, pageLimit?: number }): Promise<GhlAnswer<ContactSearchResult>> {
    const answer = await this.call<ContactSearchResult>({
      operation: 'searchContacts', method: 'POST', path: '/contacts/search', version: GHL_VERSIONS.contacts,
      accessToken, locationId, json: { locationId, page, pageLimit, query },
    })
    return { ...answer, data: { ...answer.data, contacts: Array.isArray(answer.data?.contacts) ? answer.data.contacts : [] } }
  }

  /** One contact by id (scope `contacts.readonly`). */
  async getContact ({ accessToken, contactId }: Authorized & { contactId: string }): Promise<GhlAnswer<GhlContact>> {
    const answer = await this.call<{ contact?: GhlContact }>({
      operation: 'getContact', method: 'GET', path: `/contacts/${encodeURIComponent(contactId)}`, version: GHL_VERSIONS.contacts, accessToken,
    })
    requireField(answer, 'contact', 'getContact')
    return { ...answer, data: answer.data.contact as GhlContact }
  }

  /** The contact HighLevel considers the duplicate for this phone number, or null. */
  async findContactByPhone ({ accessToken, locationId, phone }: Authorized & { locationId: string, phone: string }): Promise<GhlAnswer<GhlContact | null>> {
    const answer = await this.call<{ contact?: GhlContact | null }>({
      operation: 'findContactByPhone', method: 'GET', path: '/contacts/search/duplicate', version: GHL_VERSIONS.contacts,
      accessToken, locationId, query: { locationId, number: phone },
    })
    // The answer's shape is undocumented: take `contact` when it looks like one, else none.
    const contact = answer.data?.contact
    return { ...answer, data: contact && typeof contact.id === 'string' ? contact : null }
  }

  async upsertContact ({ accessToken, locationId, ...fields }: Authorized & { locationId: string, phone?: string, email?: string, name?: string, firstName?: string, lastName?: string }): Promise<GhlAnswer<UpsertContactResult>> {
    const answer = await this.call<UpsertContactResult>({
      operation: 'upsertContact', method: 'POST', path: '/contacts/upsert', version: GHL_VERSIONS.contacts,
      accessToken, locationId, json: withoutUndefined({ locationId, ...fields }),
    })
    requireField(answer, 'contact', 'upsertContact')
    return answer
  }

  /** HighLevel has no idempotency key here: a retried call can send the SMS twice. `locationId`: whose budget it spends. */
  async sendSms ({ accessToken, locationId, contactId, message, fromNumber, toNumber, scheduledTimestamp, attachments }: Authorized & {
    locationId?: string, contactId: string, message: string, fromNumber?: string, toNumber?: string, scheduledTimestamp?: number, attachments?: string[]
  }): Promise<GhlAnswer<SendMessageResult>> {
    const answer = await this.call<SendMessageResult>({
      operation: 'sendSms', method: 'POST', path: '/conversations/messages', version: GHL_VERSIONS.conversations,
      accessToken, locationId, json: withoutUndefined({ type: 'SMS', contactId, message, fromNumber, toNumber, scheduledTimestamp, attachments }),
    })
    requireField(answer, 'messageId', 'sendSms')
    return answer
  }

  /**
   * One page of a location's messages (scope `conversations/message.readonly`), oldest first
   * unless asked otherwise; pass `nextCursor` back as `cursor` for the next page. How a send
   * whose answer was lost is settled: did a message with this text reach this contact since then?
   */
  async exportMessages ({ accessToken, locationId, contactId, conversationId, channel, startDate, endDate, limit, cursor, sortBy, sortOrder }: Authorized & {
    locationId: string, contactId?: string, conversationId?: string, channel?: MessageChannel, startDate?: Date, endDate?: Date,
    limit?: number, cursor?: string, sortBy?: 'createdAt' | 'updatedAt', sortOrder?: 'asc' | 'desc'
  }): Promise<GhlAnswer<ExportMessagesResult>> {
    const query = withoutUndefined({
      locationId, contactId, conversationId, channel, startDate: startDate?.toISOString(), endDate: endDate?.toISOString(),
      limit: limit === undefined ? undefined : String(limit), cursor, sortBy, sortOrder,
    }) as Record<string, string>
    const answer = await this.call<ExportMessagesResult>({
      operation: 'exportMessages', method: 'GET', path: '/conversations/messages/export', version: GHL_VERSIONS.conversations,
      accessToken, locationId, query,
    })
    requireField(answer, 'messages', 'exportMessages')
    const { messages, nextCursor } = answer.data
    if (!Array.isArray(messages)) {
      throw new GhlError('transient', 'HighLevel answered exportMessages with messages that are not a list', { operation: 'exportMessages', status: answer.status, rateLimit: answer.rateLimit })
    }
    return { ...answer, data: { ...answer.data, messages, nextCursor: typeof nextCursor === 'string' && nextCursor !== '' ? nextCursor : null } }
  }

  /** A location's conversations, optionally only one contact's (scope `conversations.readonly`). */
  async searchConversations ({ accessToken, locationId, contactId, limit }: Authorized & { locationId: string, contactId?: string, limit?: number }): Promise<GhlAnswer<ConversationSearchResult>> {
    const answer = await this.call<ConversationSearchResult>({
      operation: 'searchConversations', method: 'GET', path: '/conversations/search', version: GHL_VERSIONS.conversations,
      accessToken, query: withoutUndefined({ locationId, contactId, limit: limit === undefined ? undefined : String(limit) }) as Record<string, string>,
    })
    const { conversations } = answer.data ?? {}
    return { ...answer, data: { ...answer.data, conversations: Array.isArray(conversations) ? conversations.filter((c) => typeof c?.id === 'string') : [] } }
  }

  /**
   * One page of a conversation's messages (scope `conversations/message.readonly`), as HighLevel
   * pages them: `limit` (default 20) after `lastMessageId`, the previous page's last message.
   */
  async getConversationMessages ({ accessToken, conversationId, lastMessageId, limit }: Authorized & { conversationId: string, lastMessageId?: string, limit?: number }): Promise<GhlAnswer<ConversationMessagesPage>> {
    const answer = await this.call<{ messages?: unknown, lastMessageId?: unknown, nextPage?: unknown }>({
      operation: 'getConversationMessages', method: 'GET', path: `/conversations/${encodeURIComponent(conversationId)}/messages`,
      version: GHL_VERSIONS.conversations, accessToken,
      query: withoutUndefined({ lastMessageId, limit: limit === undefined ? undefined : String(limit) }) as Record<string, string>,
    })
    // The spec puts the page at the top level; a page nested under `messages` is read too, should
    // HighLevel wrap it as it wraps other answers in a field named after them (`contact`, `location`).
    const page = (answer.data && typeof answer.data.messages === 'object' && !Array.isArray(answer.data.messages) && answer.data.messages !== null
      ? answer.data.messages : answer.data) as { messages?: unknown, lastMessageId?: unknown, nextPage?: unknown }
    if (!Array.isArray(page?.messages)) {
      throw new GhlError('transient', 'HighLevel answered getConversationMessages without a list of messages', { operation: 'getConversationMessages', status: answer.status, rateLimit: answer.rateLimit })
    }
    return {
      ...answer,
      data: {
        messages: page.messages as ConversationMessagesPage['messages'],
        lastMessageId: typeof page.lastMessageId === 'string' && page.lastMessageId !== '' ? page.lastMessageId : null,
        nextPage: page.nextPage === true,
      },
    }
  }

  async close (): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((pool) => pool.close()))
  }

  private async tokenCall (operation: string, grant: Record<string, string>, timeoutMs?: number): Promise<GhlAnswer<TokenResponse>> {
    const answer = await this.call<TokenResponse>({
      operation, method: 'POST', path: '/oauth/token', timeoutMs,
      form: { client_id: this.options.clientId, client_secret: this.options.clientSecret, ...grant, redirect_uri: this.options.redirectUri },
    })
    requireField(answer, 'access_token', operation)
    return answer
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

  private async call<T> (call: Call): Promise<GhlAnswer<T>> {
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

  /** One HTTP exchange with HighLevel's API: one deadline, network failures as GhlError, rate-limit headers reported. */
  private async exchange (call: { operation: string, method: Dispatcher.HttpMethod, pathAndQuery: string, headers: Record<string, string>, body?: string | Buffer, timeoutMs?: number, locationId?: string }): Promise<ForwardAnswer> {
    const basePath = withoutTrailingSlashes(this.apiBaseUrl.pathname)
    const timeoutMs = call.timeoutMs ?? this.options.httpTimeoutMs
    // One deadline for the whole exchange (connect, headers and body), not per phase.
    const signal = AbortSignal.timeout(timeoutMs)
    let status: number | undefined
    let headers: ResponseHeaders
    let body: Buffer
    try {
      const response = await this.pool(this.apiBaseUrl.origin).request({
        method: call.method, path: `${basePath}${call.pathAndQuery}`, headers: call.headers, body: call.body, signal,
        // The pool's per-phase timeouts must not end a call given a longer deadline.
        ...(call.timeoutMs ? { headersTimeout: call.timeoutMs, bodyTimeout: call.timeoutMs } : {}),
      })
      status = response.statusCode
      headers = response.headers
      body = Buffer.from(await response.body.arrayBuffer())
    } catch (err) {
      // A body lost after a 2xx status still means HighLevel accepted the call: the status says so.
      throw networkFailure(call.operation, err, signal.aborted ? timeoutMs : undefined, status)
    }
    const rateLimit = parseRateLimit(headers)
    if (call.locationId) await this.options.onRateLimit?.(call.locationId, rateLimit, headers)
    return { status, headers, body, rateLimit }
  }
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

function requireField (answer: GhlAnswer<unknown>, field: string, operation: string): void {
  const data = answer.data as Record<string, unknown> | null
  if (!data || typeof data !== 'object' || data[field] === undefined || data[field] === null) {
    throw new GhlError('transient', `HighLevel answered ${operation} without ${field}`, { operation, status: answer.status, rateLimit: answer.rateLimit })
  }
}

function withoutUndefined<T extends Record<string, unknown>> (value: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined))
}

/** `/+$` as a scan: that regex retries from every slash of a run (quadratic), this does not. */
function withoutTrailingSlashes (value: string): string {
  let end = value.length
  while (end > 0 && value[end - 1] === '/') end--
  return value.slice(0, end)
}
