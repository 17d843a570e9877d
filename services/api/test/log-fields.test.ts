/**
 * What an operator reads in the api's log: a failure line names its stable error code and the
 * client; the link's signature, an OAuth code and the state stay redacted.
 */
import t from 'tap'
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
