import t from 'tap'
import { form, json, listening, REDIRECT_URI, SUNRISE } from './helper.ts'

const client = { client_id: 'app-client', client_secret: 'app-secret-value' }

t.test('the token endpoint refuses a JSON body, as HighLevel\'s does', async (t) => {
  const { url, control } = await listening(t)
  const code = control.createAuthCode({ locationId: SUNRISE, redirectUri: REDIRECT_URI })
  const response = await fetch(`${url}/oauth/token`, json('POST', { ...client, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }))
  t.equal(response.status, 400)
  t.match(await response.json(), { statusCode: 400, message: 'The token endpoint accepts application/x-www-form-urlencoded only', error: 'Bad Request' })
  t.equal(control.stats().codeExchanges, 0, 'the code was not spent')
})

t.test('missing fields are a 422 with every problem listed', async (t) => {
  const { url } = await listening(t)
  const response = await fetch(`${url}/oauth/token`, form({ grant_type: 'refresh_token' }))
  t.equal(response.status, 422)
  t.match(await response.json(), { statusCode: 422, message: ['client_id should not be empty', 'client_secret should not be empty'], error: 'Unprocessable Entity' })
})

t.test('the code must be exchanged with the redirect URI it was issued for', async (t) => {
  const { url, control } = await listening(t, { redirectUris: [] })
  const code = control.createAuthCode({ locationId: SUNRISE, redirectUri: REDIRECT_URI })
  const wrong = await fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/other' }))
  t.equal(wrong.status, 400)
  t.match(await wrong.json(), { message: /redirect_uri does not match/ })
  const right = await fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }))
  t.equal(right.status, 200)
})

t.test('access tokens live as long as configured', async (t) => {
  const { url, control } = await listening(t, { accessTokenTtlSeconds: 5 })
  const code = control.createAuthCode({ locationId: SUNRISE, redirectUri: REDIRECT_URI })
  const answer = await (await fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }))).json() as Record<string, unknown>
  t.equal(answer.expires_in, 5)
  const headers = { version: '2021-07-28', authorization: `Bearer ${String(answer.access_token)}` }
  t.equal((await fetch(`${url}/locations/${SUNRISE}`, { headers })).status, 200)
  control.advanceClock(5_000)
  const expired = await fetch(`${url}/locations/${SUNRISE}`, { headers })
  t.equal(expired.status, 401)
  t.match(await expired.json(), { statusCode: 401, message: 'Invalid JWT' })
})

t.test('an agency-install location grants a Company token naming its approved locations', async (t) => {
  const { url, control } = await listening(t)
  const code = control.createAuthCode({ locationId: 'sbxAgencyLoc00000001', redirectUri: REDIRECT_URI })
  const answer = await (await fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'authorization_code', code, user_type: 'Company', redirect_uri: REDIRECT_URI }))).json()
  t.match(answer, { userType: 'Company', companyId: 'sbxCompany0000000002', approvedLocations: ['sbxAgencyLoc00000001'] })
  t.notOk((answer as Record<string, unknown>).locationId)
})

t.test('API calls without the documented Version header are refused', async (t) => {
  const { url, control } = await listening(t)
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const response = await fetch(`${url}/locations/${SUNRISE}`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(response.status, 400)
  t.match(await response.json(), { statusCode: 400, message: /Version header/ })
})

t.test('"drop the refresh answer": HighLevel spends the refresh token and issues a pair, but the caller never reads it', async (t) => {
  const { url, control } = await listening(t)
  const issued = control.issueTokens({ locationId: SUNRISE })
  const refresh = () => fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'refresh_token', refresh_token: String(issued.refresh_token) }))
  control.setFaults({ dropRefreshAnswerNext: 1 }, SUNRISE)
  await t.rejects(refresh(), 'the connection closes without an answer')
  t.match(control.stats(), { refreshes: 1, refreshAnswersDropped: 1 })
  const again = await refresh()
  t.equal(again.status, 400, 'the old refresh token was spent by the dropped answer')
  t.match(await again.json(), { message: 'Invalid grant: refresh token is invalid' })
})

t.test('refreshLatencyMs slows the token endpoint only, before HighLevel decides', async (t) => {
  const { url, control } = await listening(t)
  const issued = control.issueTokens({ locationId: SUNRISE })
  control.setFaults({ refreshLatencyMs: 300 })
  const started = Date.now()
  const api = await fetch(`${url}/locations/${SUNRISE}`, { headers: { version: '2021-07-28', authorization: `Bearer ${issued.access_token}` } })
  t.equal(api.status, 200)
  t.ok(Date.now() - started < 300, 'an API call is not slowed')
  const refreshing = fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'refresh_token', refresh_token: String(issued.refresh_token) }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(control.stats().refreshes, 0, 'not decided while it waits')
  t.equal((await refreshing).status, 200)
  t.ok(Date.now() - started >= 300)
  t.equal(control.stats().refreshes, 1)
})
