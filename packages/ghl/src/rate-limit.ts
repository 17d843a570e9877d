/**
 * HighLevel's rate-limit headers, read from every answer so callers can pace themselves
 * (a shared bucket per location) instead of discovering the limit by hitting 429s.
 */
export interface RateLimit {
  /** Requests allowed per interval (the burst limit, 100 per location per app). */
  max: number | null
  remaining: number | null
  intervalMs: number | null
  dailyLimit: number | null
  dailyRemaining: number | null
}

type HeaderValue = string | string[] | undefined
export type ResponseHeaders = Record<string, HeaderValue>

const DEFAULT_INTERVAL_MS = 10_000

function header (headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

function integer (headers: ResponseHeaders, name: string): number | null {
  const raw = header(headers, name)
  if (raw === undefined || raw.trim() === '') return null
  const n = Number(raw)
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : null
}

/** `null` when HighLevel sent none of the headers (the token endpoints do not). */
export function parseRateLimit (headers: ResponseHeaders): RateLimit | null {
  const rateLimit: RateLimit = {
    max: integer(headers, 'x-ratelimit-max'),
    remaining: integer(headers, 'x-ratelimit-remaining'),
    intervalMs: integer(headers, 'x-ratelimit-interval-milliseconds'),
    dailyLimit: integer(headers, 'x-ratelimit-limit-daily'),
    dailyRemaining: integer(headers, 'x-ratelimit-daily-remaining'),
  }
  return Object.values(rateLimit).every((v) => v === null) ? null : rateLimit
}

/**
 * How long to wait after a 429. `Retry-After` wins when present (HighLevel does not document it,
 * so it is honoured but not relied on); a spent daily quota waits for the next UTC day (the
 * reset time is undocumented too); otherwise one burst interval.
 */
export function retryAfterMs (headers: ResponseHeaders, rateLimit: RateLimit | null, now = Date.now()): number {
  const retryAfter = header(headers, 'retry-after')
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter)
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000)
    const date = Date.parse(retryAfter)
    if (Number.isFinite(date)) return Math.max(0, date - now)
  }
  if (rateLimit?.dailyRemaining === 0) {
    const nextUtcDay = new Date(now)
    nextUtcDay.setUTCHours(24, 0, 0, 0)
    return nextUtcDay.getTime() - now
  }
  return rateLimit?.intervalMs ?? DEFAULT_INTERVAL_MS
}
