import t from 'tap'
import { createLogger } from '@ghl-connect/logging'
import { ghlTokenEndpoint, TokenService, type ConnectionEvent, type RefreshOutcome } from '../src/index.ts'
import { LOCATION, sandboxed } from './sandboxed.ts'

const { sandbox, redis, keys, ghl, integrations, connected } = await sandboxed(t)

function service (lockTtlMs = 15_000) {
  const events: ConnectionEvent[] = []
  const outcomes: RefreshOutcome[] = []
  const tokens = new TokenService({
    redis, keys, integrations, endpoint: ghlTokenEndpoint(ghl),
    logger: createLogger({ level: 'silent' }), lockTtlMs, onEvent: (e) => { events.push(e) }, onOutcome: (o) => { outcomes.push(o) },
  })
  return { tokens, events, outcomes }
}

t.test('a fresh token is used as it is; an expiring one is refreshed once for many concurrent callers', async (t) => {
  const { tokens, outcomes } = service()
  const stored = await connected('client-fresh', 3_600_000)
  t.equal((await tokens.getFresh('client-fresh')).accessToken, stored.accessToken)
  await connected('client-expiring', 60_000)
  const before = sandbox.control.stats().refreshes
  const results = await Promise.all(Array.from({ length: 10 }, () => tokens.getFresh('client-expiring')))
  t.equal(new Set(results.map((r) => r.accessToken)).size, 1)
  t.equal(sandbox.control.stats().refreshes - before, 1)
  t.equal(outcomes.filter((o) => o === 'refreshed').length, 1)
})

t.test('when a sibling whose lock lapsed spent the refresh token first, the loser uses its token instead of disconnecting the client', async (t) => {
  const { tokens, events } = service()
  const stored = await connected('client-race', 60_000)
  sandbox.control.setFaults({ latencyMs: 400 }, LOCATION)
  const slow = tokens.refreshNow('client-race')
  await new Promise((r) => setTimeout(r, 50))
  sandbox.control.clearFaults(LOCATION)
  // the sibling: same refresh token, answered first, its pair written under the version both read
  const sibling = (await ghl.refreshToken({ refreshToken: stored.refreshToken! })).data
  t.ok(await integrations.writeTokens(stored.id, stored.tokenVersion, {
    accessToken: sibling.access_token, refreshToken: sibling.refresh_token, expiresAt: new Date(Date.now() + 86_399_000),
  }))
  const result = await slow
  t.equal(result.accessToken, sibling.access_token, 'the loser returns the winner\'s token')
  t.equal(sandbox.control.stats().invalidGrants, 1, 'HighLevel did refuse the loser')
  t.equal((await integrations.findByClient('client-race'))?.status, 'active', 'and the client stays connected')
  t.same(events, [])
})

t.test('a paused location keeps its token, backs off, and recovers with the same refresh token', async (t) => {
  const { tokens, events } = service()
  const stored = await connected('client-paused', 60_000)
  sandbox.control.setLocationActive(LOCATION, false)
  await t.rejects(tokens.refreshNow('client-paused'), { code: 'location_inactive' })
  t.equal((await integrations.findByClient('client-paused'))?.refreshToken, stored.refreshToken)
  t.match(events, [{ type: 'connection.broken', reason: 'location_inactive' }])
  sandbox.control.setLocationActive(LOCATION, true)
  await redis.del(keys.refreshCooldown('client-paused'))
  const recovered = await tokens.refreshNow('client-paused')
  t.equal(recovered.status, 'active')
  t.match(events, [{ type: 'connection.broken' }, { type: 'connection.recovered', clientId: 'client-paused' }])
})

t.test('HighLevel down: the refresh cools down instead of retrying in a storm, and a still-valid token keeps working', async (t) => {
  const { tokens } = service()
  const stored = await connected('client-down', 60_000)
  sandbox.control.setFaults({ errorRate: 1, errorStatus: 503 }, LOCATION)
  t.teardown(() => sandbox.control.clearFaults(LOCATION))
  const before = sandbox.control.stats().refreshes
  const first = await tokens.getFresh('client-down')
  t.equal(first.accessToken, stored.accessToken, 'the old token still has a minute: it is used')
  for (let i = 0; i < 5; i++) await tokens.getFresh('client-down')
  t.equal(sandbox.control.stats().refreshes - before, 0, 'HighLevel never issued a token')
  const row = await integrations.findByClient('client-down')
  t.equal(row?.refreshFailures, 1, 'one call, then the cooldown held the others back')
})
