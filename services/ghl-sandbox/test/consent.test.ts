import t from 'tap'
import { form, listening, REDIRECT_URI, SUNRISE } from './helper.ts'

const authorizeQuery = (overrides: Record<string, string> = {}) => new URLSearchParams({
  response_type: 'code', client_id: 'app-client', redirect_uri: REDIRECT_URI, scope: 'contacts.readonly conversations/message.write', state: 'st-1', ...overrides,
}).toString()

t.test('the consent page lists every location with an Allow button, and a Deny button', async (t) => {
  const { url } = await listening(t)
  const response = await fetch(`${url}/v2/oauth/chooselocation?${authorizeQuery()}`)
  t.equal(response.status, 200)
  const html = await response.text()
  t.match(html, /<li data-testid="location-sbxLocation000000001"><span class="location-name">Sunrise Dental<\/span>/)
  t.match(html, /data-testid="allow-sbxLocation000000001"[^>]*>Allow<\/button>/)
  t.match(html, /data-testid="allow-sbxLocation000000002"/)
  t.match(html, /data-testid="deny">Deny<\/button>/)
  t.match(html, /<li>conversations\/message\.write<\/li>/)
})

t.test('Allow redirects to the redirect URI with a code and the state', async (t) => {
  const { url, control } = await listening(t)
  const response = await fetch(`${url}/v2/oauth/chooselocation`, form({
    client_id: 'app-client', redirect_uri: REDIRECT_URI, scope: 'contacts.readonly', state: 'st-1', location_id: SUNRISE, decision: 'allow',
  }))
  t.equal(response.status, 302)
  const callback = new URL(response.headers.get('location') ?? '')
  t.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI)
  t.equal(callback.searchParams.get('state'), 'st-1')
  const code = callback.searchParams.get('code') ?? ''
  const token = await fetch(`${url}/oauth/token`, form({
    client_id: 'app-client', client_secret: 'app-secret-value', grant_type: 'authorization_code', code, user_type: 'Location', redirect_uri: REDIRECT_URI,
  }))
  t.match(await token.json(), { locationId: SUNRISE, scope: 'contacts.readonly', userType: 'Location' })
  t.equal(control.stats().codeExchanges, 1)
})

t.test('Deny redirects with error=access_denied and the state, and issues no code', async (t) => {
  const { url } = await listening(t)
  const response = await fetch(`${url}/v2/oauth/chooselocation`, form({ client_id: 'app-client', redirect_uri: REDIRECT_URI, state: 'st-2', decision: 'deny' }))
  t.equal(response.status, 302)
  const callback = new URL(response.headers.get('location') ?? '')
  t.equal(callback.searchParams.get('error'), 'access_denied')
  t.equal(callback.searchParams.get('state'), 'st-2')
  t.equal(callback.searchParams.get('code'), null)
})

t.test('an unknown client id gets a clear error page, not a redirect', async (t) => {
  const { url } = await listening(t)
  const response = await fetch(`${url}/v2/oauth/chooselocation?${authorizeQuery({ client_id: 'someone-else' })}`, { redirect: 'manual' })
  t.equal(response.status, 400)
  const html = await response.text()
  t.match(html, /<h1 id="error-title" data-testid="error-title">Unknown app<\/h1>/)
  t.match(html, /No app with client_id &quot;someone-else&quot; exists/)
})

t.test('a redirect URI that is not registered gets a clear error page, not a redirect', async (t) => {
  const { url } = await listening(t)
  const response = await fetch(`${url}/v2/oauth/chooselocation?${authorizeQuery({ redirect_uri: 'https://evil.example/cb' })}`, { redirect: 'manual' })
  t.equal(response.status, 400)
  t.match(await response.text(), /Redirect URI mismatch/)
})

t.test('auto-approve redirects at once with a code for the first location, or the hinted one', async (t) => {
  const { url, control } = await listening(t, { autoApprove: true })
  const first = await fetch(`${url}/v2/oauth/chooselocation?${authorizeQuery()}`, { redirect: 'manual' })
  t.equal(first.status, 302)
  t.ok(new URL(first.headers.get('location') ?? '').searchParams.get('code'))

  const hinted = await fetch(`${url}/v2/oauth/chooselocation?${authorizeQuery()}&location=sbxLocation000000002`, { redirect: 'manual' })
  const code = new URL(hinted.headers.get('location') ?? '').searchParams.get('code') ?? ''
  const token = await fetch(`${url}/oauth/token`, form({ client_id: 'app-client', client_secret: 'app-secret-value', grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }))
  t.match(await token.json(), { locationId: 'sbxLocation000000002' })

  control.configure({ autoApprove: false })
  t.equal((await fetch(`${url}/v2/oauth/chooselocation?${authorizeQuery()}`, { redirect: 'manual' })).status, 200, 'the switch turns the page back on')
})

t.test('the page without /v2 (older docs) works too', async (t) => {
  const { url } = await listening(t)
  t.equal((await fetch(`${url}/oauth/chooselocation?${authorizeQuery()}`)).status, 200)
})
