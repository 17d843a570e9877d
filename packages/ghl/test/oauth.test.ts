import t from 'tap'
import { AGENCY_LOCATION, APP_SCOPES, failure, harness, REDIRECT_URI, SUNRISE } from './helper.ts'

t.test('the authorize URL names chooselocation with the app, redirect URI, space-separated scopes and state', async (t) => {
  const { client, sandbox } = await harness(t)
  const url = new URL(client.oauth.authorizeUrl({ state: 's1' }))
  t.equal(`${url.origin}${url.pathname}`, `${sandbox.url}/v2/oauth/chooselocation`)
  t.equal(url.searchParams.get('response_type'), 'code')
  t.equal(url.searchParams.get('client_id'), sandbox.clientId)
  t.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI)
  t.equal(url.searchParams.get('scope'), APP_SCOPES.join(' '))
  t.match(url.search, /scope=conversations%2Fmessage\.write%20conversations%2Fmessage\.readonly%20contacts\.readonly/)
  t.equal(url.searchParams.get('state'), 's1')
})

t.test('consent redirects with a code and the state; the code exchanges for a location token pair', async (t) => {
  const { client, sandbox, authorize } = await harness(t)
  const { code, state } = await authorize(SUNRISE)
  t.ok(state, 'state is echoed')
  const answer = await client.oauth.exchangeCode({ code })
  t.equal(answer.data.userType, 'Location')
  t.equal(answer.data.locationId, SUNRISE)
  t.equal(answer.data.scope, APP_SCOPES.join(' '))
  t.equal(answer.data.token_type, 'Bearer')
  t.equal(answer.data.expires_in, 86_399)
  t.ok(answer.data.access_token && answer.data.refresh_token)
  t.equal(answer.rateLimit, null, 'the token endpoint sends no rate-limit headers')
  t.equal(sandbox.control.stats().codeExchanges, 1)
})

t.test('a code works once: the second exchange is an invalid grant', async (t) => {
  const { client, sandbox, authorize } = await harness(t)
  const { code } = await authorize()
  await client.oauth.exchangeCode({ code })
  const err = await failure(() => client.oauth.exchangeCode({ code }))
  t.equal(err.kind, 'invalid_grant')
  t.equal(err.status, 400)
  t.match(err.message, /Invalid grant/)
  t.ok(err.traceId, 'HighLevel\'s traceId is kept')
  t.equal(sandbox.control.stats().invalidGrants, 1)
})

t.test('a code expires: exchanged after its lifetime it is an invalid grant', async (t) => {
  const { client, sandbox, authorize } = await harness(t, { codeTtlSeconds: 60 })
  const { code } = await authorize()
  sandbox.control.advanceClock(61_000)
  t.equal((await failure(() => client.oauth.exchangeCode({ code }))).kind, 'invalid_grant')
})

t.test('a refresh returns a new pair and kills the refresh token it spent', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const first = await connect()
  const second = (await client.oauth.refreshToken({ refreshToken: first.refresh_token ?? '' })).data
  t.not(second.access_token, first.access_token)
  t.not(second.refresh_token, first.refresh_token)
  t.equal(second.locationId, SUNRISE)
  const err = await failure(() => client.oauth.refreshToken({ refreshToken: first.refresh_token ?? '' }))
  t.equal(err.kind, 'invalid_grant')
  t.equal(err.message, 'Invalid grant: refresh token is invalid')
  t.ok(await client.oauth.refreshToken({ refreshToken: second.refresh_token ?? '' }), 'the new refresh token works')
  t.match(sandbox.control.stats(), { refreshes: 2, invalidGrants: 1 })
})

t.test('two concurrent refreshes with one refresh token: one succeeds, the other is an invalid grant', async (t) => {
  const { client, sandbox, connect } = await harness(t, {}, { connections: 4 })
  const { refresh_token: refreshToken = '' } = await connect()
  // Latency keeps both requests inside the sandbox at once.
  sandbox.control.setFaults({ latencyMs: 50 })
  const outcomes = await Promise.allSettled([client.oauth.refreshToken({ refreshToken }), client.oauth.refreshToken({ refreshToken })])
  const won = outcomes.filter((o) => o.status === 'fulfilled')
  const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
  t.equal(won.length, 1)
  t.equal(lost.length, 1)
  t.equal(lost[0]?.reason.kind, 'invalid_grant')
  t.match(sandbox.control.stats(), { refreshes: 1, invalidGrants: 1 })
})

t.test('a paused location refuses the refresh with location_inactive, and the same refresh token works once it is active again', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { refresh_token: refreshToken = '' } = await connect()
  sandbox.control.setLocationActive(SUNRISE, false)
  const err = await failure(() => client.oauth.refreshToken({ refreshToken }))
  t.equal(err.kind, 'location_inactive')
  t.equal(err.message, 'Location is not active')
  t.equal((await failure(() => client.oauth.refreshToken({ refreshToken }))).kind, 'location_inactive', 'still refused, still not spent')
  sandbox.control.setLocationActive(SUNRISE, true)
  const answer = await client.oauth.refreshToken({ refreshToken })
  t.ok(answer.data.access_token)
  t.match(sandbox.control.stats(), { locationInactive: 2, refreshes: 1, invalidGrants: 0 })
})

t.test('revoked refresh tokens are invalid grants', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { refresh_token: refreshToken = '' } = await connect()
  sandbox.control.revokeTokens(SUNRISE, { refreshTokens: true })
  t.equal((await failure(() => client.oauth.refreshToken({ refreshToken }))).kind, 'invalid_grant')
})

t.test('a wrong client secret is invalid_client, never an invalid grant', async (t) => {
  const { clientFor, authorize } = await harness(t)
  const { code } = await authorize()
  const err = await failure(() => clientFor({ clientSecret: 'not-the-secret' }).oauth.exchangeCode({ code }))
  t.equal(err.kind, 'invalid_client')
  t.equal(err.status, 401)
})

t.test('a redirect URI other than the registered one is refused as a bad request', async (t) => {
  const { clientFor, authorize } = await harness(t)
  const { code } = await authorize()
  const err = await failure(() => clientFor({ redirectUri: 'http://127.0.0.1:9/elsewhere' }).oauth.exchangeCode({ code }))
  t.equal(err.kind, 'invalid_request')
  t.match(err.message, /redirect_uri/)
})

t.test('an agency install gives a Company token, which mints a location token with oauth.getLocationToken', async (t) => {
  const { client, connect } = await harness(t)
  const agency = await connect(AGENCY_LOCATION, [...APP_SCOPES, 'oauth.write'])
  t.equal(agency.userType, 'Company')
  t.equal(agency.locationId, undefined, 'a Company token names no location')
  t.same(agency.approvedLocations, [AGENCY_LOCATION])
  const minted = await client.oauth.getLocationToken({ accessToken: agency.access_token, companyId: agency.companyId ?? '', locationId: AGENCY_LOCATION })
  t.equal(minted.data.locationId, AGENCY_LOCATION)
  t.equal(minted.data.refresh_token, undefined, 'location tokens come without a refresh token')
  const location = await client.locations.get({ accessToken: minted.data.access_token, locationId: AGENCY_LOCATION })
  t.equal(location.data.location.name, 'Northwind Agency (agency install)')
})

t.test('oauth.getLocationToken with a sub-account token is refused', async (t) => {
  const { client, connect } = await harness(t)
  const token = await connect(SUNRISE, [...APP_SCOPES, 'oauth.write'])
  const err = await failure(() => client.oauth.getLocationToken({ accessToken: token.access_token, companyId: token.companyId ?? '', locationId: SUNRISE }))
  t.equal(err.kind, 'scope_missing')
})
