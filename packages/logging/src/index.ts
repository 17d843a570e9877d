/**
 * The one place that decides what a log line (or any other record, such as the sandbox's recorded
 * exchanges) may contain. Redaction is by key name at any depth (so a token inside an error's
 * `cause` or a response body is caught too) and by pattern inside strings (bearer headers, JWTs,
 * `code=`/`refresh_token=` in URLs and form bodies).
 */
import { pino, type Logger, type LoggerOptions, stdSerializers } from 'pino'

export type { Logger } from 'pino'

export const REDACTED = '[redacted]'

const SECRET_KEY = /^(access_?token|refresh_?token|id_?token|token|code|client_?secret|secret|password|api_?keys?|authorization|cookie|set-cookie|x-api-key|sig|signature|private_?key|pit|encryption_?keys?)$/i

const STRING_PATTERNS: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*/g, REDACTED],
  [/\b(access_token|refresh_token|client_secret|code|state|sig|token)=[^&\s"']+/gi, `$1=${REDACTED}`],
  [/("(?:access_token|refresh_token|client_secret|accessToken|refreshToken|clientSecret)"\s*:\s*)"[^"]*"/g, `$1"${REDACTED}"`],
]

/** Values known to be secret at start-up (client secret, API keys, ...): scrubbed wherever they appear. */
const knownSecrets = new Set<string>()
export function registerSecrets (...values: Array<string | undefined | null>): void {
  for (const v of values) if (v && v.length >= 8) knownSecrets.add(v)
}

export function redactString (value: string): string {
  let out = value
  for (const secretValue of knownSecrets) if (out.includes(secretValue)) out = out.split(secretValue).join(REDACTED)
  for (const [pattern, replacement] of STRING_PATTERNS) out = out.replace(pattern, replacement)
  return out
}

export function redact (value: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (typeof value === 'string') return redactString(value)
  if (value === null || typeof value !== 'object') return value
  if (seen.has(value) || depth > 12) return '[circular]'
  seen.add(value)
  if (value instanceof Error) return redact(stdSerializers.err(value), seen, depth + 1)
  if (Buffer.isBuffer(value)) return `[buffer ${value.length} bytes]`
  if (Array.isArray(value)) return value.map((v) => redact(v, seen, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, seen, depth + 1)
  }
  return out
}

/**
 * HTTP headers as one lower-case string each, scrubbed: a credential keeps its scheme
 * (`Bearer [redacted]`, so a reader still sees how the caller authenticated), other secret-named
 * headers (cookies, API keys) are masked whole, and every other value is scrubbed by pattern.
 */
export function redactHeaders (headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue
    const key = name.toLowerCase()
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw)
    if (key === 'authorization' || key === 'proxy-authorization') {
      const scheme = /^(\S+)\s+\S/.exec(value)?.[1]
      out[key] = scheme ? `${scheme} ${REDACTED}` : REDACTED
    } else {
      out[key] = SECRET_KEY.test(key) ? REDACTED : redactString(value)
    }
  }
  return out
}

export interface CreateLoggerOptions {
  level?: string
  name?: string
  /** Where lines go; tests pass a stream to read them back. */
  destination?: pino.DestinationStream
  base?: Record<string, unknown>
}

export function createLogger (opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: opts.name, ...opts.base },
    serializers: { err: (e: Error) => redact(e) as ReturnType<typeof stdSerializers.err> },
    formatters: { log: (obj) => redact(obj) as Record<string, unknown> },
    hooks: {
      // Messages are strings pino writes as they are: scrub them before they leave.
      logMethod (args, method) {
        // pino takes a lone Error's message as the line's msg, bypassing the formatter.
        const [first, ...rest] = args as unknown[]
        const withMessage = first instanceof Error && rest.length === 0 ? [{ err: first }, first.message] : args
        const scrubbed = withMessage.map((a) => (typeof a === 'string' ? redactString(a) : a))
        return method.apply(this, scrubbed as Parameters<typeof method>)
      },
    },
  }
  if (opts.destination) return pino(options, opts.destination)
  // Buffered writes to stdout: a synchronous write per line was a tenth of the api's CPU under
  // load. The buffer is flushed every half second (so a quiet process's lines still show up
  // promptly) and when the process exits; a SIGKILL loses at most that half second of lines.
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  setInterval(() => { try { stdout.flush() } catch { /* not ready yet, or closed */ } }, 500).unref()
  return pino(options, stdout)
}
