import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, redact, redactHeaders, registerSecrets } from '../src/index.ts'

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
