/**
 * A seeded fuzz of every route (packages/testing/src/fuzz): malformed requests never get a 5xx
 * or crash the api, and every refusal carries a stable error code, as JSON on machine routes and
 * in the HTML page on browser routes. `pnpm bench --only=fuzz` runs the same fuzz with 10,000 requests.
 */
import t from 'tap'
import { runFuzz, summarize } from '@ghl-connect/testing/fuzz'
import { buildTestApiWithSandbox } from './helper.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 600)
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_126)

t.test(`${RUNS} malformed requests over every route: no 5xx, every 4xx with a stable code (seed ${SEED})`, async (t) => {
  const { app, apiKey, sandbox } = await buildTestApiWithSandbox(t, { OAUTH_RATE_LIMIT_MAX: '1000000' })
  // A connected client, so the fuzz also reaches the paths past "not connected".
  const tokens = sandbox.control.issueTokens({ locationId: 'sbxLocation000000001' }) as { access_token: string, refresh_token: string, scope: string }
  await app.runtime.integrations.replaceActive('client-1', {
    locationId: 'sbxLocation000000001', userType: 'Location', scopes: tokens.scope.split(' '),
    accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: new Date(Date.now() + 86_399_000),
  })

  const report = await runFuzz(async (req) => {
    const res = await app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload })
    return { statusCode: res.statusCode, headers: res.headers, body: res.body }
  }, { apiKey, runs: RUNS, seed: SEED })

  t.equal(report.requests, RUNS, 'every request was answered')
  t.same(report.serverErrors, [], `no 5xx:\n${summarize(report.serverErrors)}`)
  t.same(report.unstable, [], `every 4xx has a stable code in the right form:\n${summarize(report.unstable)}`)
  t.ok(Object.keys(report.byRoute).length >= 15, `every route was reached (${Object.keys(report.byRoute).length})`)
  t.comment(`statuses ${JSON.stringify(report.byStatus)}; codes ${JSON.stringify(report.codes)}`)
})
