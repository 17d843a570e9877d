import t from 'tap'
import { logCapture } from '@ghl-connect/testing'
import { MAX_URL_LENGTH } from '../src/app.ts'
import { buildTestApi } from './helper.ts'

t.test('a URL past the cap answers 414 url_too_long before any route, and is logged by its length only', async (t) => {
  const logs = logCapture()
  const { app } = await buildTestApi(t, {}, { logs: logs.stream })
  const long = `/nowhere/${'eyJ-'.repeat(MAX_URL_LENGTH / 4)}`
  for (const url of [long, `/api/ghl-oauth/authorize?clientId=${'a'.repeat(MAX_URL_LENGTH)}`, `/connect?x=${'eyJ-'.repeat(MAX_URL_LENGTH / 4)}`]) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 414, url.slice(0, 40))
    t.match(res.body, 'url_too_long')
  }
  const line = logs.records().find((l) => l.statusCode === 414)
  t.match(line, { url: `[${long.length} characters]` })
})

t.test('a long URL under the cap is an ordinary 404 with a stable code', async (t) => {
  const { app } = await buildTestApi(t)
  const res = await app.inject({ url: `/nowhere/${'eyJ-'.repeat(1900)}` })
  t.equal(res.statusCode, 404)
  t.equal(res.json().error, 'route_not_found')
})
