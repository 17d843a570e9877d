import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, redact, redactHeaders, redactString, redactStringByEveryPattern, registerSecrets } from '../src/index.ts'

function capture () {
  const lines: string[] = []
  const destination = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  return { lines, logger: createLogger({ name: 'test', destination }) }
}

const accessToken = 'eyJhbGciOiJIUzI1NiJ9.eyJsb2NhdGlvbklkIjoibG9jLTEifQ.c2lnbmF0dXJl'
const refreshToken = 'rt-0f1e2d3c4b5a69788796a5b4c3d2e1f0'

t.test('an error object carrying tokens is logged with the tokens redacted', async (t) => {
  const { lines, logger } = capture()
  const err = Object.assign(new Error(`refresh failed for Bearer ${accessToken}`), {
    accessToken,
    cause: { request: { body: `grant_type=refresh_token&refresh_token=${refreshToken}` }, headers: { Authorization: `Bearer ${accessToken}` } },
  })
  logger.error({ err }, 'token refresh failed')
  logger.error(err)
  t.equal(lines.length, 2)
  for (const line of lines) {
    t.notMatch(line, accessToken)
    t.notMatch(line, refreshToken)
    t.match(line, '[redacted]')
  }
  t.match(JSON.parse(lines[0]!).msg, 'token refresh failed')
})

t.test('secrets by key name at any depth, codes in URLs and registered values are redacted', async (t) => {
  const { lines, logger } = capture()
  registerSecrets('client-secret-for-redaction-test')
  logger.info({
    req: { url: '/api/ghl-oauth/callback?code=abc123&state=s1', headers: { cookie: 'ghl_oauth=xyz', 'x-request-id': 'r1' } },
    deep: { a: { b: { refresh_token: refreshToken, apiKey: 'key-1234567890' } } },
  }, 'calling with client-secret-for-redaction-test')
  const line = lines[0]!
  for (const leaked of ['abc123', 'xyz', refreshToken, 'key-1234567890', 'client-secret-for-redaction-test']) t.notMatch(line, leaked)
  t.match(line, 'r1', 'harmless fields stay')
})

t.test('headers keep the credential scheme but not the credential; cookies go whole; other values are scrubbed', async (t) => {
  t.same(redactHeaders({
    Authorization: `Bearer ${accessToken}`,
    cookie: 'ghl_oauth=xyz',
    'X-Forwarded-For': ['10.0.0.1', '10.0.0.2'],
    location: `https://crm.example/back?code=abc123&state=s1`,
    version: '2021-07-28',
    absent: undefined,
  }), {
    authorization: 'Bearer [redacted]',
    cookie: '[redacted]',
    'x-forwarded-for': '10.0.0.1, 10.0.0.2',
    location: 'https://crm.example/back?code=[redacted]&state=[redacted]',
    version: '2021-07-28',
  })
  t.same(redactHeaders({ authorization: 'just-a-key' }), { authorization: '[redacted]' }, 'a credential without a scheme is masked whole')
})

t.test('a recorded body keeps its shape with the secret fields masked', async (t) => {
  t.same(redact({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'app-1', user_type: 'Location' }),
    { grant_type: 'refresh_token', refresh_token: '[redacted]', client_id: 'app-1', user_type: 'Location' })
})

t.test("a database error's query parameters, quoted values and any phone number never reach a log line", async (t) => {
  const { lines, logger } = capture()
  const phone = '+15550100987'
  const text = 'Results ready,\n    at the clinic: call us'
  // drizzle's wrapper: the values in `params` and after "params: " in the message (so in the stack too)
  class DrizzleQueryError extends Error {
    constructor (readonly query: string, readonly params: unknown[], override readonly cause?: unknown) {
      super(`Failed query: ${query}\nparams: ${params.join(',')}`)
    }
  }
  // postgres.js's error: the failing row in `detail`, a parameter in `where`, a value in the message
  const postgresError = Object.assign(new Error('invalid input syntax for type uuid: "Jane Roe"'), {
    name: 'PostgresError', code: '23514', detail: `Failing row contains (1, clinic, ${phone}, Jane Roe, ${text}).`,
    where: "unnamed portal parameter $5 = 'Jane Roe'",
  })
  Object.defineProperty(postgresError, 'parameters', { value: [phone, text], enumerable: true })
  const err = new DrizzleQueryError('insert into sms_messages (phone, contact_name, body) values ($1, $2, $3)', [phone, 'Jane Roe', text], postgresError)
  logger.error({ err, nested: { deep: { cause: postgresError } } }, 'intake failed')
  logger.error(err)
  logger.warn(`retrying after ${err.message}`)
  logger.info({ to: `call ${phone} now` }, 'free text')
  t.equal(lines.length, 4)
  for (const line of lines) {
    for (const leaked of [phone, '5550100987', 'Jane Roe', 'Results ready', 'the clinic']) t.notMatch(line, leaked, `${leaked} in ${line}`)
  }
  const first = JSON.parse(lines[0]!)
  t.match(first.err.message, /^Failed query: insert into sms_messages \(phone, contact_name, body\) values \(\$1, \$2, \$3\)\nparams: \[redacted\]/,
    'the query (placeholders only) stays for debugging')
  t.match(first.err.stack, /params: \[redacted\]\n\s+at /, 'the stack keeps its frames')
  t.equal(first.err.params, '[redacted]')
  t.match(first.nested.deep.cause, { detail: 'Failing row contains ([redacted]).', where: "unnamed portal parameter $5 = '[redacted]'", parameters: '[redacted]' })
  t.match(JSON.parse(lines[3]!).to, 'call [phone] now')
})

t.test('an email\'s addresses, subject and body never reach a log line, by key or inside text', async (t) => {
  const { lines, logger } = capture()
  logger.info({ from: 'Jane Doe <jane.doe+crm@example.co.uk>', to: ['office@sunrise-dental.example'], cc: 'a@b.io', subject: 'Re: my crown', html: '<p>It hurts</p>', email: 'jane@example.com', emailMessageId: 'sddfDSF3G56GHG' }, 'email reply received')
  logger.warn(`could not record the reply of jane@example.com to office@sunrise-dental.example`)
  logger.error({ err: new Error('invalid input syntax for type uuid: "jane@example.com"'), nested: { deep: { from: 'x@y.org' } } }, 'failed')
  for (const line of lines) {
    for (const leaked of ['jane', 'sunrise-dental', 'a@b.io', 'my crown', 'It hurts', 'x@y.org']) t.notMatch(line, leaked, `${leaked} in ${line}`)
  }
  const first = JSON.parse(lines[0]!)
  t.same(first.to, ['[email]'], 'an address in a list, by pattern')
  t.equal(first.emailMessageId, 'sddfDSF3G56GHG', 'HighLevel\'s ids stay for debugging')
  t.equal(JSON.parse(lines[1]!).msg, 'could not record the reply of [email] to [email]')
  t.equal(redact('postgres://postgres@127.0.0.1:5432/app and git@host', { personal: true }), 'postgres://postgres@127.0.0.1:5432/app and git@host', 'a user@host without a domain stays')
  t.equal(redact(`${'a.'.repeat(20_000)}@`, { personal: true }), `${'a.'.repeat(20_000)}@`, 'a long false start is read once')
})

t.test('records outside the log (the sandbox) keep personal fields; only secrets go', async (t) => {
  t.same(redact({ phone: '+15550100987', refresh_token: refreshToken }), { phone: '+15550100987', refresh_token: '[redacted]' })
})

t.test('error codes stay readable on a failure line; an OAuth code, tokens and personal data do not', async (t) => {
  const { lines, logger } = capture()
  const oauthCode = 'a3f09c1d2e4b5f60718293a4b5c6d7e8f9012345'
  logger.warn({ code: 'needs_reauth', attempts: 3 }, 'sms failed')
  logger.warn({ code: 'link_expired' }, 'failure page shown')
  logger.error({ err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }, 'redis down')
  logger.error({ err: Object.assign(new Error('duplicate key'), { code: '23505', detail: 'Key (client_id)=(clinic-7) already exists.' }) }, 'insert failed')
  logger.info({ query: { code: oauthCode, state: 's1' }, url: `/api/ghl-oauth/callback?code=${oauthCode}` }, 'callback')
  logger.info({ body: { grant_type: 'authorization_code', code: oauthCode, client_secret: 'cs-1234567890' } }, 'token exchange')
  const parsed = lines.map((l) => JSON.parse(l))
  t.equal(parsed[0].code, 'needs_reauth')
  t.equal(parsed[1].code, 'link_expired')
  t.equal(parsed[2].err.code, 'ECONNREFUSED')
  t.equal(parsed[3].err.code, '23505', 'a PostgreSQL SQLSTATE')
  t.equal(parsed[3].err.detail, 'Key (client_id)=([redacted]) already exists.', 'the key\'s value is not')
  for (const line of lines.slice(4)) {
    t.notMatch(line, oauthCode)
    t.notMatch(line, 'cs-1234567890')
  }
  t.equal(parsed[4].query.code, '[redacted]')
})

t.test('a run of JWT-like text is redacted in one pass, and still redacts a JWT after it', async (t) => {
  const url = `/nowhere/${'eyJ-'.repeat(4000)}?x=1 ${accessToken}`
  const out = redact(url) as string
  t.notMatch(out, accessToken)
  t.match(out, 'eyJ-eyJ-', 'text that is no JWT stays')
  t.equal(redact(`token: ${accessToken}.`), 'token: [redacted].')
})

t.test('each PostgreSQL value redaction finds its value after a run of false starts', async (t) => {
  const opts = { personal: true }
  t.equal(redact(`${'invalid input value for '.repeat(50)}type uuid: "Jane Roe" and invalid input syntax for type integer: "+15550100987"`, opts),
    `${'invalid input value for '.repeat(50)}type uuid: "[redacted]" and invalid input syntax for type integer: "[redacted]"`)
  t.equal(redact(`${'Key ('.repeat(50)}Key (phone)=(+15550100987) already exists`, opts), `${'Key ('.repeat(50)}Key (phone)=([redacted]) already exists`)
  t.equal(redact(`${'Failed query: '.repeat(50)}select $1\nparams: Jane`, opts), `${'Failed query: '.repeat(50)}select $1\nparams: [redacted]`)
  t.equal(redact('Failing row contains (1, Jane (the clinic)).', opts), 'Failing row contains ([redacted]).')
})

t.test("an email's address, subject and body never reach a log line by their keys", async (t) => {
  const { lines, logger } = capture()
  logger.info({ email: 'jane@example.com', subject: 'Your results', html: '<p>All clear</p>', cc: ['cc@example.com'], emailOptions: { fromEmail: 'desk@example.com' }, messageId: 'm-1' }, 'email queued')
  const [line] = lines
  for (const secret of ['jane@example.com', 'Your results', 'All clear', 'cc@example.com', 'desk@example.com']) t.notMatch(line, secret)
  t.match(line, '"messageId":"m-1"', 'ids stay')
})

t.test('the shortcut for strings no pattern can change answers exactly what every pattern gives', async (t) => {
  // Each pattern's trigger and its near misses, in every case a pattern might see them.
  const parts = ['Bearer ', 'basic ', 'BEARER x', accessToken, 'eyJ', 'code=', 'refresh_token=abc', '"accessToken": "x"', '"', '=',
    '+15550100987', '+1', 'jane@example.com', '@', 'a@b', 'Failed query: select 1', '\nparams: Jane', 'failed query: ',
    'Failing row contains (1, Jane)', 'Key (phone)=(+15550100987) already exists', "portal parameter $1 = 'Jane'",
    'invalid input syntax for type uuid: "Jane"', 'Invalid Input value for enum x: "y"', 'sms queued', '/api/sms', ' ', 'ok-123', '(', ')']
  let seed = 42
  const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  let changed = 0
  for (let i = 0; i < 5000; i++) {
    const text = Array.from({ length: 1 + Math.floor(random() * 4) }, () => parts[Math.floor(random() * parts.length)]).join('')
    for (const opts of [{}, { personal: true }]) {
      const full = redactStringByEveryPattern(text, opts)
      if (full !== text) changed++
      if (redactString(text, opts) !== full) t.fail(`differs on ${JSON.stringify(text)} ${JSON.stringify(opts)}`)
    }
  }
  t.ok(changed > 1000, `the patterns changed ${changed} of the strings: the comparison covered both kinds`)
  t.equal(redactString('sms queued', { personal: true }), 'sms queued')
})

t.test('a cycle is cut where it closes; one object met twice side by side is written twice', async (t) => {
  const job: Record<string, unknown> = { id: 'job-1', refresh_token: refreshToken }
  job.self = job
  t.same(redact(job), { id: 'job-1', refresh_token: '[redacted]', self: '[circular]' })
  const where = { locationId: 'loc-1' }
  t.same(redact({ from: where, to: where, list: [where, where] }, {}),
    { from: { locationId: 'loc-1' }, to: { locationId: 'loc-1' }, list: [{ locationId: 'loc-1' }, { locationId: 'loc-1' }] })
  const deep: Record<string, unknown> = {}
  let at = deep
  for (let i = 0; i < 20; i++) { const next = {}; at.next = next; at = next }
  t.match(JSON.stringify(redact(deep)), /"\[circular\]"/, 'a very deep value stops at depth 12')
})
