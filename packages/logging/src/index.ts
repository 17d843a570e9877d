/**
 * The one place that decides what a log line (or any other record, such as the sandbox's recorded
 * exchanges) may contain. Redaction is by key name at any depth (so a token inside an error's
 * `cause` or a response body is caught too) and by pattern inside strings (bearer headers, JWTs,
 * `code=`/`refresh_token=` in URLs and form bodies).
 *
 * Log lines lose personal data too (SMS text, phone numbers, contact names, email addresses, subjects
 * and bodies): the usual way it
 * would get there is a database error, which carries the query's parameters (drizzle's
 * DrizzleQueryError: `params` and a message ending "params: <values>"; postgres.js: `parameters`,
 * `args`, and a `detail`/`where`/message quoting the failing row or value). Those are stripped at
 * any depth, in error objects and in strings.
 */
import { pino, type Logger, type LoggerOptions, stdSerializers } from 'pino'

export type { Logger } from 'pino'

export const REDACTED = '[redacted]'

const SECRET_KEY = /^(access_?token|refresh_?token|id_?token|token|client_?secret|secret|password|api_?keys?|authorization|cookie|set-cookie|x-api-key|sig|signature|private_?key|pit|encryption_?keys?)$/i

const STRING_PATTERNS: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // A JWT starts a run of base64url characters: the start is found by the character before it (not
  // `\b`, which also holds inside a run such as `eyJ-eyJ-...`, where every `eyJ` would start a
  // scan to the run's end: quadratic time on a long URL).
  [/(^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*/g, `$1${REDACTED}`],
  [/\b(access_token|refresh_token|client_secret|code|state|sig|token)=[^&\s"']+/gi, `$1=${REDACTED}`],
  [/("(?:access_token|refresh_token|client_secret|accessToken|refreshToken|clientSecret)"\s*:\s*)"[^"]*"/g, `$1"${REDACTED}"`],
]

/**
 * `code` is both an OAuth authorization code (secret) and an error code (what an operator needs:
 * `needs_reauth`, `link_expired`, `ECONNRESET`, SQLSTATE `23505`). A value shaped like an error code
 * stays; anything else (HighLevel's codes are 40 hex characters) is redacted.
 */
const OAUTH_CODE_KEY = /^(code|auth_?code|authorization_?code)$/i
const ERROR_CODE = /^(?:[a-z]+(?:_[a-z0-9]+)*|[A-Z]+(?:_[A-Z0-9]+)*|[0-9A-Z]{5}|\d{1,4})$/
const isErrorCode = (value: unknown) => typeof value === 'number' || (typeof value === 'string' && value.length <= 64 && ERROR_CODE.test(value))

/** Keys whose values are personal data or a query's bound values: logs never show them. */
const PERSONAL_KEY = /^(params|parameters|args|phone|phone_?number|contact_?name|sms_?text|email|email_?address|email_?to|email_?from|from_?email|from|cc|bcc|subject|html|email_?options)$/i

/**
 * Where PostgreSQL and the drivers quote values inside their messages. Every one runs in linear time
 * on any string (log lines carry URLs and bodies callers chose): a "from here to that marker" cut
 * is a scan with indexOf, not a lazy regex that would rescan the rest of the string from each
 * repeated start (test: services/api/test/linear-regexes.test.ts).
 */
const PERSONAL_REDACTIONS: Array<(text: string) => string> = [
  // drizzle: "Failed query: <sql>\nparams: <values>" (values may span lines: cut to the end)
  (text) => cutAfter(text, 'Failed query: ', '\nparams: '),
  // PostgreSQL DETAIL of a constraint violation: the whole row, or the key's values
  (text) => {
    const head = 'Failing row contains ('
    const at = text.indexOf(head)
    const close = text.lastIndexOf(')')
    return at < 0 || close < at + head.length ? text : `${text.slice(0, at + head.length)}${REDACTED}${text.slice(close)}`
  },
  (text) => redactBetween(text, /Key \([^()]*\)=\(/g, /\)(?: already exists| is not present| conflicts)/g),
  // PostgreSQL CONTEXT of a bad parameter, and a value it cannot read
  (text) => text.replace(/(portal parameter \$\d+ = )'(?:[^']|'')*'/g, `$1'${REDACTED}'`),
  redactInvalidInput,
  // a phone number anywhere (E.164)
  (text) => text.replace(/(?<![\w+])\+[1-9]\d{7,14}(?!\d)/g, '[phone]'),
  redactEmailAddresses,
]

const EMAIL_LOCAL_CHAR = /[\w.+-]/
const EMAIL_DOMAIN_CHAR = /[A-Za-z0-9.-]/
const TOP_LEVEL_DOMAIN = /^[A-Za-z]{2,}$/

/**
 * An email address anywhere (`name@host.tld`): found from each `@` outwards, character by
 * character, so no stretch of text is read more than twice (a regex with a repeated domain part
 * backtracks on a long false start).
 */
function redactEmailAddresses (text: string): string {
  let out = ''
  let kept = 0
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at
    while (start > kept && EMAIL_LOCAL_CHAR.test(text[start - 1]!)) start--
    let end = at + 1
    while (end < text.length && EMAIL_DOMAIN_CHAR.test(text[end]!)) end++
    while (end > at + 1 && text[end - 1] === '.') end--
    const domain = text.slice(at + 1, end)
    const dot = domain.lastIndexOf('.')
    if (start === at || dot <= 0 || domain.startsWith('.') || !TOP_LEVEL_DOMAIN.test(domain.slice(dot + 1))) continue
    out += `${text.slice(kept, start)}[email]`
    kept = end
    at = end - 1
  }
  return out + text.slice(kept)
}

/**
 * PostgreSQL's `invalid input syntax for type uuid: "<value>"` (or `value for enum x`): the value.
 * Where the next `: "` and `"` are is remembered, so no stretch of text is searched twice.
 */
function redactInvalidInput (text: string): string {
  const head = /invalid input (?:syntax|value) for /g
  let out = ''
  let kept = 0
  let valueAt = -1
  let quoteAt = -1
  for (let match = head.exec(text); match; match = head.exec(text)) {
    const from = head.lastIndex
    if (valueAt < from) valueAt = text.indexOf(': "', from)
    if (valueAt < 0) break
    if (quoteAt < from) quoteAt = text.indexOf('"', from)
    if (quoteAt !== valueAt + 2) continue
    const close = text.indexOf('"', valueAt + 3)
    if (close < 0) break
    out += text.slice(kept, valueAt + 3) + REDACTED
    kept = close
    head.lastIndex = close + 1
  }
  return out + text.slice(kept)
}

/** Everything after the first `marker` that follows `head` (unless already redacted: a stack keeps its frames). */
function cutAfter (text: string, head: string, marker: string): string {
  const at = text.indexOf(head)
  const cut = at < 0 ? -1 : text.indexOf(marker, at + head.length) + marker.length
  return cut < marker.length || text.startsWith(REDACTED, cut) ? text : text.slice(0, cut) + REDACTED
}

/**
 * The text between each `open` match and the first `close` match after it. One pass: once no
 * `close` follows an `open`, none follows a later one either. Both patterns need the `g` flag.
 */
function redactBetween (text: string, open: RegExp, close: RegExp): string {
  let out = ''
  let kept = 0
  open.lastIndex = 0
  for (let head = open.exec(text); head; head = open.exec(text)) {
    close.lastIndex = open.lastIndex
    const tail = close.exec(text)
    if (!tail) break
    out += text.slice(kept, open.lastIndex) + REDACTED
    kept = tail.index
    open.lastIndex = close.lastIndex
  }
  return out + text.slice(kept)
}

/** Values known to be secret at start-up (client secret, API keys, ...): scrubbed wherever they appear. */
const knownSecrets = new Set<string>()
export function registerSecrets (...values: Array<string | undefined | null>): void {
  for (const v of values) if (v && v.length >= 8) knownSecrets.add(v)
}

export interface RedactOptions {
  /** Also strip personal data and query parameters (log lines); records such as the sandbox's keep them. */
  personal?: boolean
}

/**
 * What a string must hold for any pattern above to change it: each pattern needs one of these
 * (a scheme name, `eyJ`, `=`, a quote; for personal data also `+`, `@` or a PostgreSQL message's
 * words). Most strings in a log line (ids, messages, routes) hold none, and skip every pattern:
 * on the intake's hot path the patterns were most of the logging's cost. Case-insensitive, so
 * it holds wherever a case-sensitive pattern could match.
 */
const MAY_MATCH = /bearer|basic|eyJ|[="]/i
const MAY_MATCH_PERSONAL = /bearer|basic|eyJ|[="+@]|failed query: |failing row contains \(|invalid input /i

export function redactString (value: string, opts: RedactOptions = {}): string {
  const out = withoutKnownSecrets(value)
  return (opts.personal ? MAY_MATCH_PERSONAL : MAY_MATCH).test(out) ? byEveryPattern(out, opts) : out
}

/** `redactString` without the shortcut: every pattern runs whatever the string holds (its test compares the two). */
export function redactStringByEveryPattern (value: string, opts: RedactOptions = {}): string {
  return byEveryPattern(withoutKnownSecrets(value), opts)
}

function withoutKnownSecrets (value: string): string {
  let out = value
  for (const secretValue of knownSecrets) if (out.includes(secretValue)) out = out.split(secretValue).join(REDACTED)
  return out
}

function byEveryPattern (value: string, opts: RedactOptions): string {
  let out = value
  for (const [pattern, replacement] of STRING_PATTERNS) out = out.replace(pattern, replacement)
  if (opts.personal) for (const redaction of PERSONAL_REDACTIONS) out = redaction(out)
  return out
}

/**
 * drizzle puts the bound values in its error's message, hence in its stack's first line: give the
 * stack the redacted message, so the frames survive and the values do not.
 */
function withoutQueryValues (err: Error, opts: RedactOptions): Error {
  if (!opts.personal || typeof err.message !== 'string') return err
  const message = redactString(err.message, opts)
  if (message === err.message) return err
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error
  for (const key of Object.getOwnPropertyNames(err)) {
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(err, key)!)
  }
  Object.defineProperty(copy, 'message', { value: message, enumerable: false, writable: true, configurable: true })
  if (typeof err.stack === 'string') Object.defineProperty(copy, 'stack', { value: err.stack.split(err.message).join(message), enumerable: false, writable: true, configurable: true })
  return copy
}

/**
 * `ancestors`: the objects this value sits inside. A value that is one of them (a cycle) or
 * deeper than 12 is written `[circular]`; one object reached twice side by side is written
 * twice. A list, not a WeakSet per line: every log line goes through here, and a WeakSet's
 * entries cost the collector more than the line's other garbage.
 */
export function redact (value: unknown, opts: RedactOptions = {}, ancestors: object[] = [], depth = 0): unknown {
  if (typeof value === 'string') return redactString(value, opts)
  if (value === null || typeof value !== 'object') return value
  if (depth > 12 || ancestors.includes(value)) return '[circular]'
  if (Buffer.isBuffer(value)) return `[buffer ${value.length} bytes]`
  ancestors.push(value)
  let out: unknown
  if (value instanceof Error) {
    out = redact(stdSerializers.err(withoutQueryValues(value, opts)), opts, ancestors, depth + 1)
  } else if (Array.isArray(value)) {
    out = value.map((v) => redact(v, opts, ancestors, depth + 1))
  } else {
    const fields: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key]
      const hidden = SECRET_KEY.test(key) || (OAUTH_CODE_KEY.test(key) && !isErrorCode(v)) ||
        (opts.personal === true && PERSONAL_KEY.test(key))
      fields[key] = hidden && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, opts, ancestors, depth + 1)
    }
    out = fields
  }
  ancestors.pop()
  return out
}

/** What a log line may carry: secrets and personal data stripped. */
const forLog: RedactOptions = { personal: true }

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
    serializers: { err: (e: Error) => redact(e, forLog) as ReturnType<typeof stdSerializers.err> },
    formatters: { log: (obj) => redact(obj, forLog) as Record<string, unknown> },
    hooks: {
      // Messages are strings pino writes as they are: scrub them before they leave.
      logMethod (args, method) {
        // pino takes a lone Error's message as the line's msg, bypassing the formatter.
        const [first, ...rest] = args as unknown[]
        const withMessage = first instanceof Error && rest.length === 0 ? [{ err: first }, first.message] : args
        const scrubbed = withMessage.map((a) => (typeof a === 'string' ? redactString(a, forLog) : a))
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
