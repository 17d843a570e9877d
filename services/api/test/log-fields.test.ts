/**
 * What an operator reads in the api's log: a failure line names its stable error code and the
 * client; the link's signature, an OAuth code and the state stay redacted; the intake writes one
 * line per request, named for what it did.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { logCapture } from '@ghl-connect/testing'
import { buildTestApi } from './helper.ts'

const path = (u: string) => { const p = new URL(u); return p.pathname + p.search }

t.test('a failure page\'s log line shows its code (link_expired), never the link\'s signature', async (t) => {
  const logs = logCapture()
  const { app } = await buildTestApi(t, {}, { logs: logs.stream })
  const expired = app.runtime.connectLinks.create('connect', { clientId: 'clinic-9', ttlSeconds: 60 }, Date.now() - 3_600_000)
  const res = await app.inject({ url: path(expired.url) })
  t.equal(res.statusCode, 403)
  const shown = logs.records().find((l) => l.msg === 'failure page shown')
  t.match(shown, { level: 40, code: 'link_expired' }, 'the stable code is readable')
  const sig = new URL(expired.url).searchParams.get('sig')!
  t.notMatch(logs.text(), sig, 'the signature is not')
  t.match(logs.records().find((l) => l.msg === 'request done'), { statusCode: 403, url: /\/connect\?clientId=clinic-9&.*sig=\[redacted\]/ }, 'the client id is readable, the signature is not')
})

t.test('a callback\'s OAuth code and state are redacted on its log line; its error code is not', async (t) => {
  const logs = logCapture()
  const { app } = await buildTestApi(t, {}, { logs: logs.stream })
  const code = 'f3a9c0d1e2b4a5968778695a4b3c2d1e0f9a8b7c'
  const res = await app.inject({ url: `/api/ghl-oauth/callback?code=${code}&state=st-${code}` })
  t.ok(res.statusCode >= 400 && res.statusCode < 500, `refused (${res.statusCode})`)
  t.notMatch(logs.text(), code)
  const shown = logs.records().find((l) => l.msg === 'failure page shown')
  t.match(shown, { code: /^[a-z_]+$/ }, `the failure's code is readable (${String(shown?.code)})`)
})

t.test('an SMS request writes one line, `sms queued`, with the request\'s facts and the message id; a repeat says so', async (t) => {
  const logs = logCapture()
  const api = await buildTestApi(t, {}, { logs: logs.stream })
  await api.app.runtime.integrations.replaceActive('clinic', {
    locationId: 'sbxLocation000000001', locationName: 'Sunrise Dental', userType: 'Location', scopes: ['conversations/message.write'],
    accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
  })
  const payload = { clientId: 'clinic', to: { phone: '+15550100987' }, message: 'See you at 10', idempotencyKey: 'visit-1' }
  const headers = { ...api.auth, 'x-request-id': 'req-sms-1' }
  const first = await api.app.inject({ method: 'POST', url: '/api/sms', headers, payload })
  t.equal(first.statusCode, 202)
  const again = await api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'x-request-id': 'req-sms-2' }, payload })
  t.equal(again.statusCode, 202)

  const mine = (reqId: string) => logs.records().filter((l) => l.reqId === reqId)
  t.equal(mine('req-sms-1').length, 1, 'one line for the request')
  t.match(mine('req-sms-1')[0], { msg: 'sms queued', level: 30, method: 'POST', url: '/api/sms', statusCode: 202, ms: Number, clientId: 'clinic', messageId: first.json().id, duplicate: false, apiKey: String })
  t.equal(mine('req-sms-2').length, 1)
  t.match(mine('req-sms-2')[0], { msg: 'sms request repeated; first answer given', statusCode: 202, messageId: first.json().id, duplicate: true })
  t.notMatch(logs.text(), '+15550100987')
  t.notMatch(logs.text(), 'See you at 10')

  const refused = await api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'x-request-id': 'req-sms-3' }, payload: { clientId: 'clinic' } })
  t.equal(refused.statusCode, 400)
  t.match(mine('req-sms-3'), [{ msg: 'request done', statusCode: 400 }], 'a refused request keeps the plain line')
})
