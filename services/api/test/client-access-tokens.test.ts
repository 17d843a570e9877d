import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { buildApp } from '../src/app.ts'
import { createRuntime } from '../src/runtime.ts'
import { eventually, ghlWorld, JANE, SUNRISE, type GhlWorld } from './ghl-world.ts'

const HARBOR = 'sbxLocation000000002'
const MCP_HEADERS = { accept: 'application/json, text/event-stream' }
type ToolAnswer = { isError?: boolean, content: Array<{ type: string, text: string }> }
const json = (answer: unknown) => JSON.parse((answer as ToolAnswer).content[0]!.text)

/** The CRM mints a token for a client with its API key. */
async function mint (world: GhlWorld, clientId: string, body: object = { name: 'support assistant' }) {
  const res = await world.app.inject({ method: 'POST', url: `/api/clients/${clientId}/access-tokens`, headers: world.auth, payload: body })
  if (res.statusCode !== 201) throw new Error(`minting answered ${res.statusCode}: ${res.body}`)
  return res.json() as { id: string, token: string, clientId: string, name: string, scopes: string[], expiresAt: string }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** One JSON-RPC tools/call over /mcp, as an assistant would send it. */
const mcpCall = (world: Pick<GhlWorld, 'app'>, headers: Record<string, string>, name: string, args: object = {}, url = '/mcp') => world.app.inject({
  method: 'POST', url, headers: { ...MCP_HEADERS, ...headers },
  payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } },
})

t.test('a token for client A with sms:send sms:read contacts:read sees and calls only its tools, for A only; every other route refuses it', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-a')
  await world.connect('client-b', { locationId: HARBOR })
  world.sandbox.control.addContact({ locationId: SUNRISE, name: 'Lina Park', phone: '+15550109999' })
  const { token, scopes } = await mint(world, 'client-a', { name: 'client A assistant', scopes: ['sms:read', 'contacts:read', 'sms:send'] })
  t.same(scopes, ['sms:send', 'sms:read', 'contacts:read'])
  const address = await world.app.listen({ port: 0, host: '127.0.0.1' })

  const assistant = new Client({ name: 'client-a-assistant', version: '1.0.0' })
  await assistant.connect(new StreamableHTTPClientTransport(new URL(`${address}/mcp`), { requestInit: { headers: bearer(token) } }))
  t.teardown(() => assistant.close())
  const { tools } = await assistant.listTools()
  t.same(tools.map((tool) => tool.name).sort(), ['find_contacts', 'get_contact', 'send_sms', 'sms_status'], 'no upsert_contact, no search_opportunities')
  const found = json(await assistant.callTool({ name: 'find_contacts', arguments: { query: 'lina' } }))
  t.same(found.contacts.map((c: { name: string }) => c.name), ['Lina Park'], "A's own contact, with no client named: the token's client")
  const upsert = await assistant.callTool({ name: 'upsert_contact', arguments: { phone: '+15550108080', name: 'Omar Reyes' } })
  t.equal((upsert as ToolAnswer).isError, true, 'a tool error, not a protocol error')
  t.match(json(upsert), { error: 'insufficient_scope', scope: 'contacts:write' })
  t.match(json(await assistant.callTool({ name: 'search_opportunities', arguments: {} })), { error: 'insufficient_scope', scope: 'opportunities:read' })
  t.notOk(world.sandbox.control.contacts(SUNRISE).some((c) => c.phone === '+15550108080'), 'nothing was written')

  const sent = json(await assistant.callTool({ name: 'send_sms', arguments: { phone: '+15550109999', message: 'hello' } }))
  t.equal(sent.status, 'queued')

  const refusal = async (what: string, res: { statusCode: number, json: () => { error: string } }, status: number, error: string) => {
    t.equal(res.statusCode, status, what)
    t.equal(res.json().error, error, what)
  }
  const auth = bearer(token)
  await refusal('/mcp/client-b', await mcpCall(world, auth, 'find_contacts', { query: 'maria' }, '/mcp/client-b'), 403, 'wrong_client')
  await refusal('X-Client-Id: client-b', await mcpCall(world, { ...auth, 'x-client-id': 'client-b' }, 'find_contacts', { query: 'maria' }), 403, 'wrong_client')
  await refusal('its own client\'s raw HighLevel token', await world.app.inject({ url: '/api/ghl-oauth/token/client-a', headers: auth }), 403, 'insufficient_scope')
  await refusal('another client\'s raw HighLevel token', await world.app.inject({ url: '/api/ghl-oauth/token/client-b', headers: auth }), 403, 'insufficient_scope')
  await refusal('a connect link', await world.app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: auth, payload: { clientId: 'client-a' } }), 403, 'insufficient_scope')
  await refusal('status of B', await world.app.inject({ url: '/api/ghl-oauth/status/client-b', headers: auth }), 403, 'insufficient_scope')
  await refusal('refresh', await world.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-a', headers: auth }), 403, 'insufficient_scope')
  await refusal('disconnect', await world.app.inject({ method: 'DELETE', url: '/api/ghl-oauth/integrations/client-a', headers: auth }), 403, 'insufficient_scope')
  await refusal('settings', await world.app.inject({ url: '/api/clients/client-a/settings', headers: auth }), 403, 'insufficient_scope')
  await refusal('minting another token', await world.app.inject({ method: 'POST', url: '/api/clients/client-a/access-tokens', headers: auth, payload: { name: 'more' } }), 403, 'insufficient_scope')
  await refusal('the proxy without proxy', await world.app.inject({ url: '/api/ghl/client-a/contacts/x', headers: auth }), 403, 'insufficient_scope')
  await refusal('conversations without conversations:read', await world.app.inject({ url: `/api/conversations/client-a/${JANE}/messages`, headers: auth }), 403, 'insufficient_scope')
  const forB = { clientId: 'client-b', to: { phone: '+15550200001' }, message: 'not yours' }
  await refusal('POST /api/sms for B', await world.app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: forB }), 403, 'wrong_client')
  await refusal('a batch with one message for B', await world.app.inject({
    method: 'POST', url: '/api/sms/batch', headers: auth,
    payload: { messages: [{ clientId: 'client-a', to: { phone: '+15550109999' }, message: 'mine', idempotencyKey: 'a-1' }, { ...forB, idempotencyKey: 'b-1' }] },
  }), 403, 'wrong_client')
  t.same(await world.app.runtime.smsMessages.findByIdempotencyKey('client-a', 'a-1'), null, 'nothing of the refused batch was queued')

  const mine = await world.app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: 'client-a', to: { phone: '+15550109999' }, message: 'mine' } })
  t.equal(mine.statusCode, 202, 'POST /api/sms for its own client')
  t.equal((await world.app.inject({ url: `/api/sms/${mine.json().id}`, headers: auth })).json().status, 'queued', 'and reads it back')
  const batch = await world.app.inject({ method: 'POST', url: '/api/sms/batch', headers: auth, payload: { messages: [{ clientId: 'client-a', to: { phone: '+15550109999' }, message: 'mine', idempotencyKey: 'a-2' }] } })
  t.equal(batch.statusCode, 207, 'a batch of its own')
  const theirs = await world.app.inject({ method: 'POST', url: '/api/sms', headers: world.auth, payload: forB })
  await refusal("reading B's SMS", await world.app.inject({ url: `/api/sms/${theirs.json().id}`, headers: auth }), 403, 'wrong_client')
  await refusal("cancelling B's SMS", await world.app.inject({ method: 'DELETE', url: `/api/sms/${theirs.json().id}`, headers: auth }), 403, 'wrong_client')
  t.equal((await world.app.inject({ method: 'DELETE', url: `/api/sms/${mine.json().id}`, headers: auth })).json().status, 'cancelled', 'cancelling its own')

  const viaKey = await mcpCall(world, world.auth, 'find_contacts', { query: 'maria' }, '/mcp/client-b')
  t.same(JSON.parse(viaKey.json().result.content[0].text).contacts.map((c: { name: string }) => c.name), ['Maria Garcia'], 'the API key keeps its full reach')
})

t.test('with conversations:read and proxy a token reads its own thread and calls HighLevel through the proxy, for its client only', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-a')
  await world.connect('client-b', { locationId: HARBOR })
  const { token } = await mint(world, 'client-a', { name: 'integration', scopes: ['conversations:read', 'proxy'] })
  const auth = bearer(token)
  const thread = `/api/conversations/client-a/${JANE}/messages`
  const withKey = await world.app.inject({ url: thread, headers: world.auth })
  const withToken = await world.app.inject({ url: thread, headers: auth })
  t.equal(withToken.statusCode, withKey.statusCode, 'the answer the API key gets')
  t.same(withToken.json(), withKey.json())
  t.equal((await world.app.inject({ url: '/api/conversations/client-b/sbxContact0000000003/messages', headers: auth })).json().error, 'wrong_client')

  const search = await world.app.inject({ method: 'POST', url: '/api/ghl/client-a/contacts/search', headers: auth, payload: { query: 'jane' } })
  t.equal(search.statusCode, 200)
  t.same(search.json().contacts.map((c: { id: string }) => c.id), [JANE])
  const other = await world.app.inject({ method: 'POST', url: '/api/ghl/client-b/contacts/search', headers: auth, payload: { query: 'maria' } })
  t.equal(other.statusCode, 403)
  t.equal(other.json().error, 'wrong_client')
  t.equal((await world.app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: 'client-a', to: { phone: '+15550109999' }, message: 'x' } })).json().error,
    'insufficient_scope', 'no sms:send')
})

t.test('a revoked token is refused at once by a second api instance on the same database and Redis', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-a')
  const second = await buildApp(createRuntime(loadApiConfig(world.env), createLogger({ level: 'silent', name: 'api-2' })))
  t.teardown(() => second.close())
  const { id, token } = await mint(world, 'client-a')
  const listOnSecond = () => mcpCall({ app: second }, bearer(token), 'find_contacts', { query: 'jane' })
  t.equal((await listOnSecond()).statusCode, 200, 'the second instance takes the token')

  const revoked = await world.app.inject({ method: 'DELETE', url: `/api/clients/client-a/access-tokens/${id}`, headers: world.auth })
  t.equal(revoked.statusCode, 204)
  // Every check reads PostgreSQL, so no wait is needed: the very next request is refused.
  const refused = await listOnSecond()
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().error, 'invalid_access_token')
  t.equal((await world.app.inject({ method: 'DELETE', url: `/api/clients/client-a/access-tokens/${id}`, headers: world.auth })).statusCode, 204, 'revoking again answers the same')
  t.equal((await world.app.inject({ method: 'DELETE', url: `/api/clients/client-b/access-tokens/${id}`, headers: world.auth })).json().error, 'access_token_not_found',
    'only through its own client')
  t.same((await world.app.inject({ url: '/api/clients/client-a/access-tokens', headers: world.auth })).json().accessTokens, [], 'gone from the list')
})

t.test('the token is stored only as a keyed hash, never logged, and the list shows no secret', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-a')
  const created = await mint(world, 'client-a', { name: 'widget', expiresInSeconds: 3600 })
  t.match(created.token, /^gct_[0-9a-f]{32}[A-Za-z0-9_-]{43}$/)
  t.same(created.scopes, ['sms:send', 'sms:read', 'email:send', 'email:read', 'contacts:read', 'contacts:write', 'opportunities:read', 'opportunities:write',
    'calendars:read', 'conversations:read'], 'no scopes given: every scope but proxy')
  t.ok(Math.abs(Date.parse(created.expiresAt) - Date.now() - 3_600_000) < 60_000, 'expires when asked')
  const secret = created.token.slice(-43)
  const used = await mcpCall(world, bearer(created.token), 'sms_status', { id: '00000000-0000-4000-8000-000000000000' })
  t.equal(used.statusCode, 200)

  const rows = await world.db.sql`select row_to_json(t)::text as row from client_access_tokens t`
  t.equal(rows.length, 1)
  t.notOk(rows[0]!.row.includes(secret), 'the table holds no part of the secret')
  t.notOk(rows[0]!.row.includes(created.token))

  const listed = await world.app.inject({ url: '/api/clients/client-a/access-tokens', headers: world.auth })
  t.equal(listed.statusCode, 200)
  const [entry, ...more] = listed.json().accessTokens
  t.same(more, [])
  t.same(Object.keys(entry).sort(), ['clientId', 'createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'scopes'])
  t.match(entry, { id: created.id, name: 'widget', clientId: 'client-a', lastUsedAt: /^\d{4}-/ })
  t.notOk(listed.body.includes(secret))

  const logs = world.logs.join('\n')
  t.notOk(logs.includes(secret), 'no log line holds the secret')
  const audit = world.logs.map((line) => JSON.parse(line)).find((line) => line.clientToken?.id === created.id && line.msg === 'request done')
  t.match(audit, { clientToken: { id: created.id, name: 'widget', clientId: 'client-a' }, url: '/mcp', statusCode: 200 }, 'the request line names the token')
  t.ok(world.logs.some((line) => line.includes('"audit":"mcp_tool"') && line.includes(created.id)), 'so does the tool call\'s audit line')
})

t.test('an expired, mistyped or unknown token answers 401; bad scopes, names and lifetimes answer 400', async (t) => {
  const world = await ghlWorld(t, { CLIENT_TOKEN_MAX_LIFETIME_DAYS: '30' })
  await world.connect('client-a')
  const { eventually } = await import('./ghl-world.ts')
  const shortLived = await mint(world, 'client-a', { name: 'short', expiresInSeconds: 1 })
  const expired = await eventually('the token expired', async () => {
    const res = await mcpCall(world, bearer(shortLived.token), 'find_contacts', { query: 'jane' })
    return res.statusCode === 401 ? res : undefined
  })
  t.equal(expired.json().error, 'access_token_expired')

  const good = await mint(world, 'client-a')
  t.ok(Math.abs(Date.parse(good.expiresAt) - Date.now() - 30 * 86_400_000) < 60_000, 'the default lifetime is capped by the maximum')
  const forged = `${good.token.slice(0, -1)}${good.token.endsWith('A') ? 'B' : 'A'}`
  for (const [what, token] of [['a wrong secret', forged], ['a mangled token', 'gct_nothing'], ['an unknown id', `gct_${'0'.repeat(32)}${good.token.slice(-43)}`]]) {
    const res = await mcpCall(world, bearer(token!), 'find_contacts', { query: 'jane' })
    t.equal(res.statusCode, 401, what!)
    t.equal(res.json().error, 'invalid_access_token', what!)
  }

  const refused = async (body: object) => (await world.app.inject({ method: 'POST', url: '/api/clients/client-a/access-tokens', headers: world.auth, payload: body }))
  const unknown = await refused({ name: 'x', scopes: ['sms:send', 'sms:delete'] })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().error, 'unknown_scope')
  t.match(unknown.json().message, /"sms:delete" is not a scope/)
  t.equal((await refused({ name: 'x', scopes: [] })).json().error, 'scopes_required')
  t.equal((await refused({ name: 'x', expiresInSeconds: 31 * 86_400 })).json().error, 'invalid_token_lifetime')
  t.equal((await refused({ name: 'x', expiresInSeconds: 0 })).statusCode, 400)
  t.equal((await refused({ name: 'bad\nname' })).statusCode, 400)
  t.equal((await refused({ scopes: ['sms:send'] })).statusCode, 400, 'a name is required')
  t.equal((await world.app.inject({ method: 'POST', url: '/api/clients/client-a/access-tokens', payload: { name: 'x' } })).statusCode, 401, 'minting needs the API key')
  t.equal((await world.app.inject({ method: 'DELETE', url: '/api/clients/client-a/access-tokens/not-a-uuid', headers: world.auth })).statusCode, 400)
})

t.test('each token has its own rate limit: past it 429, while another token and the API key go on', async (t) => {
  const world = await ghlWorld(t, { CLIENT_TOKEN_RATE_LIMIT_MAX: '3' })
  await world.connect('client-a')
  const busy = await mint(world, 'client-a', { name: 'busy' })
  const quiet = await mint(world, 'client-a', { name: 'quiet' })
  const call = (headers: Record<string, string>) => world.app.inject({ url: '/api/sms/00000000-0000-4000-8000-000000000000', headers })
  for (let i = 0; i < 3; i++) t.equal((await call(bearer(busy.token))).statusCode, 404, `request ${i + 1} is served`)
  const limited = await call(bearer(busy.token))
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'rate_limited')
  t.match(limited.json().message, /"busy".*CLIENT_TOKEN_RATE_LIMIT_MAX/)
  t.ok(Number(limited.headers['retry-after']) >= 1)
  t.equal((await call(bearer(quiet.token))).statusCode, 404, 'another token of the same client has its own budget')
  t.equal((await call(world.auth)).statusCode, 404, 'the API key too')
})

t.test('the SDK\'s own MCP client, with a token scoped to email:send only, sends an email by name; email_status needs email:read', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-m')
  world.sandbox.control.addContact({ locationId: SUNRISE, name: 'Lina Park', phone: '+15550109999', email: 'lina@example.com' })
  world.startWorker()
  const { token } = await mint(world, 'client-m', { name: 'mail assistant', scopes: ['email:send'] })
  const address = await world.app.listen({ port: 0, host: '127.0.0.1' })
  const assistant = new Client({ name: 'mail-assistant', version: '1.0.0' })
  await assistant.connect(new StreamableHTTPClientTransport(new URL(`${address}/mcp`), { requestInit: { headers: bearer(token) } }))
  t.teardown(() => assistant.close())
  const { tools } = await assistant.listTools()
  t.same(tools.map((tool) => tool.name), ['send_email'], 'only send_email')
  const sent = json(await assistant.callTool({ name: 'send_email', arguments: { name: 'Lina Park', subject: 'Your results', text: 'All clear.' } }))
  t.equal(sent.status, 'queued')
  const email = await eventually('the email sent', async () => world.sandbox.control.messages(SUNRISE).find((m) => m.type === 'Email' && m.email?.subject === 'Your results'))
  t.match(email, { body: 'All clear.', email: { to: 'lina@example.com' } })
  t.match(json(await assistant.callTool({ name: 'email_status', arguments: { id: sent.id } })), { error: 'insufficient_scope', scope: 'email:read' })
  const sms = json(await assistant.callTool({ name: 'send_sms', arguments: { name: 'Lina Park', message: 'no' } }))
  t.match(sms, { error: 'insufficient_scope', scope: 'sms:send' })
  const row = await world.app.runtime.smsMessages.findById(sent.id)
  t.match(row, { channel: 'email', clientId: 'client-m' })
})
