/**
 * The api's credentials (Credentials with a watch): served from the cache while the announcements
 * reach the process, but a token due for refresh is refreshed, never served from there.
 */
import t from 'tap'
import { DEFAULT_REFRESH_WINDOW_MS } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { eventually } from '@ghl-connect/testing'
import { CredentialCache, Credentials, type Credential } from '../src/index.ts'
import { sandboxed } from './sandboxed.ts'

const world = await sandboxed(t)
const tokens = world.tokenService()
const watch = { live: true, generation: 0 }
const credentials = new Credentials(tokens, null, createLogger({ level: 'silent' }), {
  cache: new CredentialCache<Credential>({ maxClients: 10, ttlMs: 60_000 }), watch,
})

t.test('a cached token that comes due is refreshed, not served', async (t) => {
  // Fresh for one more second, then inside the refresh window.
  const stored = await world.connected('client-due', DEFAULT_REFRESH_WINDOW_MS + 1000)
  const first = await credentials.forClient('client-due')
  t.equal(first.accessToken, stored.accessToken, 'the stored token, fresh')
  const renewed = await eventually('the due token to be refreshed', async () => {
    const now = await credentials.forClient('client-due')
    return now.accessToken !== stored.accessToken ? now : undefined
  }, 10_000)
  t.ok(renewed.kind === 'oauth' && tokens.isFresh(renewed.integration), 'a fresh token instead')
})

t.test('while the announcements do not reach the process, every call reads PostgreSQL', async (t) => {
  const stored = await world.connected('client-unwatched', 86_400_000)
  t.equal((await credentials.forClient('client-unwatched')).accessToken, stored.accessToken)
  watch.live = false
  const replaced = await world.connected('client-unwatched', 86_400_000)
  t.equal((await credentials.forClient('client-unwatched')).accessToken, replaced.accessToken, 'not the kept one')
  watch.live = true
})
