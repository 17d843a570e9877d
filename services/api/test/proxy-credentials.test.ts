/**
 * The api keeps each client's credential in memory for the proxy (and so MCP) instead of reading
 * and decrypting it from PostgreSQL on every call. These tests change the connection the way
 * other processes do (a second api replica's reconnect and disconnect, the worker's refresh) and
 * look at what HighLevel received from the first replica: never the token the change replaced.
 */
import t from 'tap'
import { loadApiConfig, loadWorkerConfig } from '@ghl-connect/config'
import { createCore } from '@ghl-connect/core'
import { IntegrationsRepository, TokenCipher } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { buildApp } from '../src/app.ts'
import { createRuntime } from '../src/runtime.ts'
import { eventually, ghlWorld, JANE, PROXY_SCOPES, SUNRISE } from './ghl-world.ts'

const HARBOR = 'sbxLocation000000002'
/** The api's cache life (runtime.ts): a change seen well inside it was told, not aged out. */
const CACHE_TTL_MS = 10_000

const world = await ghlWorld(t, {}, { record: true })
const { sandbox } = world
const a = world.app
// A second replica of the same deployment: same database, same Redis prefix, its own memory.
const b = await buildApp(createRuntime(loadApiConfig(world.env), createLogger({ level: 'silent', name: 'api-test-b' })))
await b.ready()
t.teardown(() => b.close())

const search = async (app: typeof a, clientId: string) => {
  const res = await app.inject({ method: 'POST', url: `/api/ghl/${clientId}/contacts/search`, headers: world.auth, payload: { query: '', pageLimit: 100 } })
  return { status: res.statusCode, body: res.json() as { contacts?: Array<{ id: string, locationId?: string }>, error?: string } }
}
const connection = (locationId: string) => {
  const tokens = sandbox.control.issueTokens({ locationId, scopes: PROXY_SCOPES })
  return {
    locationId, locationName: 'a location', userType: 'Location' as const, scopes: PROXY_SCOPES,
    accessToken: tokens.access_token, refreshToken: String(tokens.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  }
}
const holdsJane = (body: { contacts?: Array<{ id: string }> }) => (body.contacts ?? []).some((c) => c.id === JANE)

t.test('a client reconnected elsewhere or disconnected on another replica is not served from this replica\'s cache', async (t) => {
  await world.connect('client-moves')
  t.ok(holdsJane((await search(a, 'client-moves')).body), 'replica A calls HighLevel for Sunrise, and keeps the credential')

  // A write nobody announces (straight to PostgreSQL) is not seen: A serves what it keeps.
  const silent = new IntegrationsRepository(world.db.db, new TokenCipher(loadApiConfig(world.env).encryption.keys))
  await silent.replaceActive('client-moves', connection(HARBOR))
  t.ok(holdsJane((await search(a, 'client-moves')).body), 'replica A still calls Sunrise: the credential is cached')

  // The same reconnect through replica B is announced: A drops its copy well inside its life.
  const movedAt = Date.now()
  await b.runtime.integrations.connectClient('client-moves', connection(HARBOR))
  await eventually('replica A to call HighLevel for Harbor', async () => {
    const { status, body } = await search(a, 'client-moves')
    return status === 200 && !holdsJane(body) ? true : undefined
  }, CACHE_TTL_MS / 2)
  t.ok(Date.now() - movedAt < CACHE_TTL_MS, 'not by the copy ageing out')

  // Disconnected on B: A refuses, as without a cache.
  const disconnectedAt = Date.now()
  t.equal((await b.inject({ method: 'DELETE', url: '/api/ghl-oauth/integrations/client-moves', headers: world.auth })).statusCode, 204)
  const refused = await eventually('replica A to refuse the disconnected client', async () => {
    const { status, body } = await search(a, 'client-moves')
    return status === 409 ? body : undefined
  }, CACHE_TTL_MS / 2)
  t.equal(refused.error, 'not_connected')
  t.ok(Date.now() - disconnectedAt < CACHE_TTL_MS, 'not by the copy ageing out')
})

t.test('once the worker\'s refresh is announced, replica A never sends the token it replaced', async (t) => {
  await world.connect('client-refreshed')
  t.equal((await search(a, 'client-refreshed')).status, 200, 'replica A keeps the first token')

  // The worker's process: its own Redis connections and repository, the one refresh path.
  const worker = createCore(loadWorkerConfig(world.env), createLogger({ level: 'silent', name: 'worker-test' }), { service: 'worker' })
  t.teardown(() => worker.close())
  const heard = a.runtime.integrationChanges.generation
  // HighLevel no longer takes the old access token (its refresh token still works).
  sandbox.control.revokeTokens(SUNRISE)
  await worker.tokenService.refreshNow('client-refreshed')
  await eventually('replica A to hear of the refresh', () => a.runtime.integrationChanges.generation > heard ? true : undefined, CACHE_TTL_MS / 2)

  const mark = sandbox.control.recorded.length
  t.equal((await search(a, 'client-refreshed')).status, 200)
  t.same(sandbox.control.recorded.slice(mark).map((e) => e.response.status), [200],
    'one call, with the new token: the revoked one would have met a 401 first')
  await worker.integrations.deactivate('client-refreshed')
})

t.test('a refresh on the same replica (HighLevel\'s 401 or the manual refresh) is used by its very next call', async (t) => {
  await world.connect('client-local')
  t.equal((await search(a, 'client-local')).status, 200)
  sandbox.control.revokeTokens(SUNRISE)
  t.equal((await a.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-local', headers: world.auth })).statusCode, 200)
  const mark = sandbox.control.recorded.length
  t.equal((await search(a, 'client-local')).status, 200)
  t.same(sandbox.control.recorded.slice(mark).map((e) => e.response.status), [200], 'no wait, no old token')
})
