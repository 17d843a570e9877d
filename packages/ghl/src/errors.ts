/**
 * The failures of a HighLevel call, as the few kinds a caller decides on. Each keeps HighLevel's
 * own message and traceId for the log, and never the request (its headers and body hold tokens).
 */
import type { RateLimit } from './rate-limit.ts'

export type GhlErrorKind =
  /** 401 `Invalid token` / `Invalid JWT`: refresh once, then retry once. */
  | 'token_expired'
  /** 401 `The token is not authorized for this scope.`: refreshing cannot help; the tenant re-authorizes. */
  | 'scope_missing'
  /** 403: the token has no access to this location. */
  | 'forbidden'
  /** 400 / 422 / other 4xx: the request itself is wrong; retrying sends the same mistake. */
  | 'invalid_request'
  /** 400 `Invalid grant`: the code or refresh token is dead (used, expired or revoked). */
  | 'invalid_grant'
  /** 400 `Location is not active`: temporary; the same refresh token works again later. */
  | 'location_inactive'
  /** 401 at the token endpoint: client id or secret is wrong, a configuration problem. */
  | 'invalid_client'
  /** 429: wait `retryAfterMs`. */
  | 'rate_limited'
  /** 5xx, network failure or timeout: retry with backoff. */
  | 'transient'

export interface GhlErrorDetails {
  operation: string
  status?: number
  /** Every message HighLevel gave (a 422 gives an array). */
  messages?: string[]
  traceId?: string
  retryAfterMs?: number
  rateLimit?: RateLimit | null
  /** For transient failures without an answer: the network error's code (ECONNREFUSED, timeout, ...). */
  networkCode?: string
}

export class GhlError extends Error {
  override name = 'GhlError'
  readonly operation: string
  readonly status: number | undefined
  readonly messages: string[]
  readonly traceId: string | undefined
  readonly retryAfterMs: number | undefined
  readonly rateLimit: RateLimit | null
  readonly networkCode: string | undefined

  constructor (readonly kind: GhlErrorKind, message: string, details: GhlErrorDetails) {
    super(message)
    this.operation = details.operation
    this.status = details.status
    this.messages = details.messages ?? [message]
    this.traceId = details.traceId
    this.retryAfterMs = details.retryAfterMs
    this.rateLimit = details.rateLimit ?? null
    this.networkCode = details.networkCode
  }

  /** Worth retrying the same request later (after a refresh for `token_expired`). */
  get retryable (): boolean {
    return this.kind === 'transient' || this.kind === 'rate_limited' || this.kind === 'token_expired'
  }

  /**
   * HighLevel answered 2xx but the answer could not be read (cut off, not JSON, no id): the call
   * took effect. Retrying a send would deliver it twice.
   */
  get acceptedUnreadable (): boolean {
    return this.status !== undefined && this.status >= 200 && this.status < 300
  }

  /**
   * Whether the call may have taken effect though no answer says so: a gateway's 502/504 (it
   * passed the request on and lost the reply), or the connection lost or timed out once the request
   * could have been written. A refused or unresolvable connection, and HighLevel's own answers,
   * are not: nothing reached HighLevel, or HighLevel said what it did.
   */
  get outcomeUnknown (): boolean {
    if (this.acceptedUnreadable) return false
    if (this.status === 502 || this.status === 504) return true
    if (this.status !== undefined || this.networkCode === undefined) return false
    return !NEVER_WRITTEN.has(this.networkCode)
  }

  toJSON (): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      operation: this.operation,
      status: this.status,
      messages: this.messages,
      traceId: this.traceId,
      retryAfterMs: this.retryAfterMs,
      networkCode: this.networkCode,
    }
  }
}

/** Network failures that happen before a request can leave this process: HighLevel got nothing. */
const NEVER_WRITTEN = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

export const isGhlError = (err: unknown): err is GhlError => err instanceof GhlError

/** Maps an HTTP answer that is not 2xx to its kind, by status and HighLevel's wording. */
export function classifyAnswer (status: number, message: string, endpoint: 'token' | 'api'): GhlErrorKind {
  if (status === 429) return 'rate_limited'
  if (status >= 500) return 'transient'
  if (status === 401) {
    if (/not authorized for this scope/i.test(message)) return 'scope_missing'
    if (endpoint === 'token' && !/invalid (token|jwt)/i.test(message)) return 'invalid_client'
    return 'token_expired'
  }
  if (status === 403) return 'forbidden'
  if (/location is not active/i.test(message)) return 'location_inactive'
  if (status === 400 && /invalid[ _]grant/i.test(message)) return 'invalid_grant'
  // 408 is a server-side timeout: nothing wrong with the request.
  if (status === 408) return 'transient'
  return 'invalid_request'
}
