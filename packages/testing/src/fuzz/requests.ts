/**
 * Malformed requests over every route of the api, as fast-check arbitraries: bad JSON, wrong
 * types, huge and empty bodies, odd unicode, injection-like strings, bad and missing headers,
 * wrong methods and paths. `apiKey` is a real key so the checks past authentication run too.
 */
import fc from 'fast-check'

export type Kind = 'machine' | 'browser' | 'ops'

export interface FuzzRequest {
  route: string
  kind: Kind
  method: string
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
}

const INJECTIONS = [
  "' OR '1'='1", "'; drop table sms_messages; --", '" OR ""="', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
  '../../../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%00', '\u0000', '${jndi:ldap://127.0.0.1/a}', '{{7*7}}', '$where', '{"$gt":""}',
  '__proto__', 'constructor', 'prototype', 'sms-1:2', 'a\r\nSet-Cookie: x=1', 'javascript:alert(1)', 'NaN', '-1', '1e309', 'null', 'true',
  '\u202e\u202d', '\ud800', '\udfff', '💥'.repeat(40), 'ǅ̸̢͉̥̞̙̈́̈́ͅ', 'ﷺ', '\ufeff', 'A'.repeat(300),
]

/** Percent-encodes anything, lone surrogates included (as the invalid UTF-8 bytes a careless client sends). */
function enc (value: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    return value.split('').map((ch) => (/[\ud800-\udfff]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('')
  }
}

const oddString = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', minLength: 200, maxLength: 2000 }),
)

/** Any JSON value, often of the wrong type for the field it lands in. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.array(fc.oneof(oddString, fc.integer()), { maxLength: 4 }),
  fc.dictionary(oddString, fc.oneof(oddString, fc.integer()), { maxKeys: 3 }),
  fc.constantFrom({ contactId: 'abc' }, { phone: '+15550100001' }, { name: 'Jane Doe' }, { contactId: 'a', phone: '+1555' }, {}),
)

function objectWith (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(fields).map(([k, v]) => fc.option(fc.oneof(v, wrongValue), { nil: undefined }).map((value) => [k, value] as const))
  return fc.tuple(fc.tuple(...entries), fc.dictionary(oddString, wrongValue, { maxKeys: 2 }), fc.boolean()).map(([pairs, extra, withExtra]) => {
    const out: Record<string, unknown> = {}
    for (const [k, value] of pairs) if (value !== undefined) out[k] = value
    return withExtra ? { ...extra, ...out } : out
  })
}

const clientIdLike = fc.oneof(fc.constantFrom('client-1', 'tenant-0', 'x'), oddString)
const SMS_BODY = objectWith({
  clientId: clientIdLike,
  to: fc.oneof(fc.record({ contactId: oddString }), fc.record({ phone: fc.oneof(fc.constantFrom('+15550100001', '555', '+0'), oddString) }), fc.record({ name: oddString })),
  message: fc.oneof(fc.constantFrom('hello', ' ', ''), oddString),
  idempotencyKey: fc.oneof(fc.constantFrom('k1', ' ', ''), oddString),
  sendAt: fc.oneof(fc.constantFrom('2026-03-14T09:00:00', '2020-01-01T00:00:00Z', '2999-01-01T00:00:00+00:00', '2026-02-30T25:61:00Z', ''), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), oddString),
  fromNumber: fc.oneof(fc.constantFrom('+15550100000', '555', '+0', ''), oddString),
})
const TIME_LIKE = fc.oneof(fc.constantFrom('21:00', '08:00', '24:00', '9pm', '', '00:00'), oddString)
const SETTINGS_BODY = objectWith({
  quietHours: fc.oneof(fc.constant(null), objectWith({ start: TIME_LIKE, end: TIME_LIKE, timeZone: fc.oneof(fc.constantFrom('America/New_York', 'UTC', 'EST', 'Mars/Olympus', ''), oddString) }), oddString),
  defaultFromNumber: fc.oneof(fc.constant(null), fc.constantFrom('+15550100000', '555'), oddString),
})
const LINK_BODY = objectWith({ clientId: clientIdLike, returnUrl: fc.oneof(fc.constantFrom('http://127.0.0.1/x', 'javascript:alert(1)', '//evil.example'), oddString), ttlSeconds: fc.oneof(fc.integer(), fc.double()) })
const CLAIM_BODY = objectWith({ clientId: clientIdLike, locationId: oddString, claimCode: fc.oneof(fc.constantFrom('ABCDE-FGHJK', ' ', ''), oddString) })
const WEBHOOK_BODY = objectWith({ type: fc.constantFrom('INSTALL', 'UNINSTALL', 'x'), appId: oddString, locationId: oddString, timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), oddString), webhookId: oddString })

/** Bodies: mostly JSON of the right shape with wrong parts, else broken, empty, huge or binary. */
function bodyOf (shape: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string | Buffer | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: shape.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom('{', '{"a":', '[1,2', '{"clientId":"x",}', "{'a':1}", 'null', '""', 'undefined', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}'), oddString) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '') },
    { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 70_000 }).map((n) => JSON.stringify({ clientId: 'client-1', message: 'x'.repeat(n) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  )
}

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/json; charset=utf-16', 'application/xml', 'application/jsonx', '*/*', ';;;', 'application/json; charset=']

const contentType = fc.option(fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ unit: 'grapheme-ascii', maxLength: 30 })), { nil: undefined })

function authHeader (apiKey: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant(`Bearer ${apiKey}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('Bearer', 'Bearer ', `bearer ${apiKey}`, `Bearer ${apiKey} extra`, `Basic ${Buffer.from('admin:x').toString('base64')}`, `Bearer ${apiKey.slice(1)}`, `Bearer ${'k'.repeat(5000)}`, 'Token abc', 'Bearer ☃') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }) },
  )
}

/** A path segment: sometimes valid-looking, often not (encoded slashes, dots, unicode, very long). */
const pathSegment = fc.oneof(
  fc.constantFrom('client-1', 'tenant-0', '00000000-0000-0000-0000-000000000000', 'not-a-uuid', '..', '.', '%2e%2e', '%2F', '%', '%zz', '%00', 'a%20b', 'x'.repeat(300)),
  oddString.map(enc),
  fc.uuid(),
)

const queryValue = fc.oneof(fc.constantFrom('', '0', '-1', '9999999999999', 'abc', 'x'.repeat(5000)), oddString)
function queryOf (names: string[]): fc.Arbitrary<string> {
  return fc.tuple(
    fc.subarray(names).chain((chosen) => fc.tuple(...chosen.map((n) => queryValue.map((v) => `${n}=${enc(v)}`)))),
    fc.constantFrom('', '&&', '&x=1', '&clientId=a&clientId=b', '&=&', '&%=%'),
  ).map(([parts, extra]) => (parts.length || extra ? `?${parts.join('&')}${extra}` : ''))
}

export function fuzzRequests (apiKey: string): fc.Arbitrary<FuzzRequest> {
  const withBody = (route: string, kind: Kind, path: fc.Arbitrary<string>, shape: fc.Arbitrary<Record<string, unknown>>, method = 'POST') =>
    fc.record({ path, auth: authHeader(apiKey), type: contentType, payload: bodyOf(shape), extra: extraHeaders })
      .map(({ path: url, auth, type, payload, extra }) => build(route, kind, method, url, { ...extra, ...(auth ? { authorization: auth } : {}), ...(type ? { 'content-type': type } : {}) }, payload))
  const noBody = (route: string, kind: Kind, path: fc.Arbitrary<string>, method = 'GET', auth = true) =>
    fc.record({ path, auth: auth ? authHeader(apiKey) : fc.constant(undefined), extra: extraHeaders, type: contentType, payload: fc.option(bodyOf(fc.constant({})), { nil: undefined, freq: 4 }) })
      .map(({ path: url, auth: a, extra, type, payload }) => build(route, kind, method, url, { ...extra, ...(a ? { authorization: a } : {}), ...(payload !== undefined && type ? { 'content-type': type } : {}) }, payload))
  const seg = (prefix: string, suffix = '') => pathSegment.map((s) => `${prefix}${s}${suffix}`)

  return fc.oneof(
    withBody('POST /api/sms', 'machine', fc.constant('/api/sms'), SMS_BODY),
    noBody('GET /api/sms/:id', 'machine', seg('/api/sms/')),
    noBody('DELETE /api/sms/:id', 'machine', seg('/api/sms/'), 'DELETE'),
    noBody('GET /api/clients/:clientId/settings', 'machine', seg('/api/clients/', '/settings')),
    withBody('PUT /api/clients/:clientId/settings', 'machine', seg('/api/clients/', '/settings'), SETTINGS_BODY, 'PUT'),
    withBody('POST /api/ghl-oauth/connect-links', 'machine', fc.constant('/api/ghl-oauth/connect-links'), LINK_BODY),
    noBody('GET /api/ghl-oauth/status/:clientId', 'machine', seg('/api/ghl-oauth/status/')),
    noBody('POST /api/ghl-oauth/refresh/:clientId', 'machine', seg('/api/ghl-oauth/refresh/'), 'POST'),
    noBody('GET /api/ghl-oauth/token/:clientId', 'machine', seg('/api/ghl-oauth/token/')),
    noBody('DELETE /api/ghl-oauth/integrations/:clientId', 'machine', seg('/api/ghl-oauth/integrations/'), 'DELETE'),
    withBody('POST /api/ghl-oauth/claims', 'machine', fc.constant('/api/ghl-oauth/claims'), CLAIM_BODY),
    fc.record({ sig: fc.option(fc.oneof(fc.base64String({ maxLength: 120 }), oddString), { nil: undefined }), type: contentType, payload: bodyOf(WEBHOOK_BODY), extra: extraHeaders })
      .map(({ sig, type, payload, extra }) => build('POST /api/ghl-oauth/webhooks', 'machine', 'POST', '/api/ghl-oauth/webhooks',
        { ...extra, ...(sig !== undefined ? { 'x-ghl-signature': sig } : {}), ...(type ? { 'content-type': type } : {}) }, payload)),
    noBody('GET /api/ghl-oauth/authorize', 'browser', queryOf(['clientId', 'exp', 'nonce', 'sig', 'returnUrl']).map((q) => `/api/ghl-oauth/authorize${q}`), 'GET', false),
    fc.record({ q: queryOf(['code', 'state', 'error', 'error_description']), cookie: fc.option(fc.oneof(fc.constantFrom('ghl_oauth=abc.def', 'ghl_oauth=', 'ghl_oauth=s%3Ax.y'), oddString.map((s) => `ghl_oauth=${enc(s)}`)), { nil: undefined }) })
      .map(({ q, cookie }) => build('GET /api/ghl-oauth/callback', 'browser', 'GET', `/api/ghl-oauth/callback${q}`, cookie ? { cookie } : {})),
    noBody('GET /connect', 'browser', queryOf(['clientId', 'exp', 'nonce', 'sig', 'returnUrl']).map((q) => `/connect${q}`), 'GET', false),
    noBody('ops', 'ops', fc.constantFrom('/healthz', '/readyz', '/metrics', '/docs/json'), 'GET', false),
    fc.record({ path: fc.constantFrom('/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/x'), auth: fc.oneof(fc.constant(undefined), fc.constantFrom('Basic', 'Basic !!!', `Basic ${Buffer.from('admin').toString('base64')}`, `Basic ${Buffer.from('admin:wrong').toString('base64')}`), fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`)) })
      .map(({ path, auth }) => build('/admin/queues', 'machine', 'GET', path, auth ? { authorization: auth } : {})),
    // Wrong methods and unknown paths
    fc.record({
      method: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'POST', 'OPTIONS'),
      path: fc.oneof(fc.constantFrom('/api/sms', '/api/ghl-oauth/webhooks', '/api/ghl-oauth/claims', '/healthz', '/api', '/', '/api/sms/a/b', '/api/ghl-oauth/status/'), seg('/api/')),
    }).map(({ method, path }) => build('other', 'machine', method, path, { authorization: `Bearer ${apiKey}` })),
  )
}

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>(
    { 'x-request-id': '../../x' }, { 'x-request-id': 'a'.repeat(500) }, { 'x-forwarded-for': 'not-an-ip, ::1, 999.1.1.1' },
    { accept: 'text/html' }, { accept: '*/*;q=abc' }, { 'accept-encoding': 'gzip;q=2, br, zstd, unknown' }, { cookie: 'a=b; ghl_oauth=%%%' },
    { 'content-encoding': 'gzip' }, { 'content-encoding': 'unknown' }, { 'transfer-encoding': 'chunked' }, { expect: '100-continue' },
    { 'x-ghl-signature': 'x'.repeat(600) }, { 'if-none-match': '*' }, { range: 'bytes=0-1' }, { origin: 'null' }),
  },
)

function build (route: string, kind: Kind, method: string, url: string, headers: Record<string, string>, payload?: string | Buffer): FuzzRequest {
  const req: FuzzRequest = { route, kind, method, url, headers }
  if (payload !== undefined && method !== 'GET') req.payload = payload
  return req
}
