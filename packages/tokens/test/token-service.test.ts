import t from 'tap'
import type { ConnectionEvent, RefreshOutcome, TokenServiceOptions } from '../src/index.ts'
import { LOCATION, sandboxed } from './sandboxed.ts'

const { db, sandbox, redis, keys, ghl, integrations, connected, tokenService } = await sandboxed(t)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once a refresh of `integrationId` holds its lease (its HighLevel call is then on its way), or after 2 s. */
async function spending (integrationId: string) {
  const giveUpAt = Date.now() + 2000
  while (Date.now() < giveUpAt && (await db.sql`select 1 from token_refresh_leases where integration_id = ${integrationId}`).length === 0) await sleep(5)
  await sleep(100)
}

function service (opts: Partial<TokenServiceOptions> = {}) {
  const events: ConnectionEvent[] = []
  const outcomes: RefreshOutcome[] = []
  const tokens = tokenService({ onEvent: (e) => { events.push(e) }, onOutcome: (o) => { outcomes.push(o) }, ...opts })
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
  await spending(stored.id) // in HighLevel's hands, slowed
  sandbox.control.clearFaults(LOCATION)
  // the sibling: same refresh token, answered first, its pair written under the version both read
  const sibling = (await ghl.oauth.refreshToken({ refreshToken: stored.refreshToken! })).data
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

t.test('each failed refresh is counted on the integration with its kind and time (transient, location_inactive, invalid_grant); a good refresh clears them', async (t) => {
  const { tokens } = service({ recentRefreshMs: 0 })
  const stored = await connected('client-bookkeeping', 60_000)
  const read = async () => (await integrations.findById(stored.id))!
  const startedAt = Date.now()

  sandbox.control.setFaults({ errorRate: 1, errorStatus: 503 }, LOCATION)
  await tokens.refreshNow('client-bookkeeping')
  sandbox.control.clearFaults(LOCATION)
  let row = await read()
  t.match(row, { status: 'active', refreshFailures: 1, lastErrorCode: 'transient', lastError: String })
  t.ok(row.lastErrorAt && row.lastErrorAt.getTime() >= startedAt - 1000, 'when it failed')

  await redis.del(keys.refreshCooldown('client-bookkeeping'))
  sandbox.control.setLocationActive(LOCATION, false)
  await t.rejects(tokens.refreshNow('client-bookkeeping'), { code: 'location_inactive' })
  sandbox.control.setLocationActive(LOCATION, true)
  row = await read()
  t.match(row, { status: 'location_inactive', refreshFailures: 2, lastErrorCode: 'location_inactive' })

  await redis.del(keys.refreshCooldown('client-bookkeeping'))
  const good = await tokens.refreshNow('client-bookkeeping')
  t.match(await read(), { status: 'active', refreshFailures: 0, lastError: null, lastErrorCode: null, lastErrorAt: null }, 'a good refresh clears them')

  // Another process spends the refresh token behind our back: ours is now dead.
  await ghl.oauth.refreshToken({ refreshToken: good.refreshToken! })
  await t.rejects(tokens.refreshNow('client-bookkeeping'), { code: 'needs_reauth' })
  t.match(await read(), { status: 'needs_reauth', refreshFailures: 1, lastErrorCode: 'invalid_grant' })
})

t.test('HighLevel\'s answer is kept when its write fails, and the next refresh applies it instead of spending a spent refresh token', async (t) => {
  const { tokens } = service({ storeRetryMs: 300 })
  const stored = await connected('client-write-fails', 60_000)
  const before = sandbox.control.stats()
  // The integration row refuses every write, as a full disk or a read-only failover would.
  await db.sql.unsafe(`create function refuse_writes () returns trigger language plpgsql as $$ begin raise exception 'writes refused (test)'; end $$`)
  await db.sql.unsafe('create trigger refuse_writes before update on ghl_integrations for each row execute function refuse_writes()')
  await t.rejects(tokens.getFresh('client-write-fails'), { code: 'refresh_unavailable' }, 'the caller is told to retry shortly')
  await db.sql.unsafe('drop trigger refuse_writes on ghl_integrations; drop function refuse_writes()')
  t.equal(sandbox.control.stats().refreshes - before.refreshes, 1, 'HighLevel spent the refresh token')

  const another = service()
  const later = await another.tokens.getFresh('client-write-fails')
  const after = sandbox.control.stats()
  t.equal(after.refreshes - before.refreshes, 1, 'no second refresh: the kept answer was applied')
  t.equal(after.invalidGrants - before.invalidGrants, 0)
  t.equal(later.status, 'active', 'the client stays connected')
  t.equal(later.tokenVersion, stored.tokenVersion + 1)
  t.not(later.accessToken, stored.accessToken)
  t.equal((await ghl.locations.get({ accessToken: later.accessToken!, locationId: LOCATION })).status, 200, 'and the applied token works')
  t.same(another.outcomes, ['recovered'])
  t.same(another.events, [])
  t.same(await db.sql`select 1 from token_refresh_answers`, [], 'the kept answer is gone once written')
})

t.test('with PostgreSQL down when HighLevel answers, the answer is kept in Redis (sealed) and applied once PostgreSQL is back', async (t) => {
  const { tokens } = service({ storeRetryMs: 500 })
  const stored = await connected('client-pg-down', 60_000)
  t.teardown(() => db.setReachable(true))
  sandbox.control.setFaults({ refreshLatencyMs: 600 }, LOCATION)
  t.teardown(() => sandbox.control.clearFaults(LOCATION))
  const before = sandbox.control.stats()

  const refreshing = tokens.getFresh('client-pg-down')
  await spending(stored.id) // the call is with HighLevel now
  await db.setReachable(false)
  await t.rejects(refreshing, { code: 'refresh_unavailable' })
  t.equal(sandbox.control.stats().refreshes - before.refreshes, 1, 'HighLevel spent the refresh token')
  const kept = await redis.get(keys.keptRefreshAnswer(stored.id, stored.tokenVersion))
  t.ok(kept, 'the answer waits in Redis')
  t.match(kept, /^v1\./, 'as ciphertext')

  await db.setReachable(true)
  const later = await service().tokens.getFresh('client-pg-down')
  const after = sandbox.control.stats()
  t.equal(after.refreshes - before.refreshes, 1, 'no second refresh')
  t.equal(after.invalidGrants - before.invalidGrants, 0)
  t.equal(later.status, 'active')
  t.equal(later.tokenVersion, stored.tokenVersion + 1)
  t.equal((await ghl.locations.get({ accessToken: later.accessToken!, locationId: LOCATION })).status, 200)
  t.equal(await redis.get(keys.keptRefreshAnswer(stored.id, stored.tokenVersion)), null, 'forgotten once written')
})

t.test('the refresh lock\'s key lost mid-refresh (DEL, as a failover or FLUSHALL) does not let a second process spend the same refresh token', async (t) => {
  const first = service()
  const second = service()
  const stored = await connected('client-lock-lost', 60_000)
  sandbox.control.setFaults({ refreshLatencyMs: 500 }, LOCATION)
  t.teardown(() => sandbox.control.clearFaults(LOCATION))
  const before = sandbox.control.stats()
  const refreshing = first.tokens.refreshNow('client-lock-lost')
  await spending(stored.id)
  t.equal(await redis.del(keys.refreshLock('client-lock-lost')), 1, 'the holder\'s lock key is gone')
  const [a, b] = await Promise.all([refreshing, second.tokens.refreshNow('client-lock-lost')])
  const after = sandbox.control.stats()
  t.equal(after.refreshes - before.refreshes, 1, 'one refresh')
  t.equal(after.invalidGrants - before.invalidGrants, 0, 'no refresh token spent twice')
  t.equal(b.accessToken, a.accessToken, 'the second process uses the first one\'s token')
  t.equal((await integrations.findByClient('client-lock-lost'))?.status, 'active')
  t.same([...first.events, ...second.events], [])
})

t.test('an answer HighLevel gave on a connection that then dropped cannot be kept: the next refresh finds the token spent and the client must reconnect', async (t) => {
  const { tokens, events } = service()
  const stored = await connected('client-answer-dropped', 60_000)
  sandbox.control.setFaults({ dropRefreshAnswerNext: 1 }, LOCATION)
  t.teardown(() => sandbox.control.clearFaults(LOCATION))
  t.equal((await tokens.getFresh('client-answer-dropped')).accessToken, stored.accessToken, 'a transient failure to us: the old token still has a minute')
  t.equal(sandbox.control.stats().refreshAnswersDropped, 1, 'yet HighLevel issued a pair we never saw')
  await redis.del(keys.refreshCooldown('client-answer-dropped'))
  await t.rejects(tokens.refreshNow('client-answer-dropped'), { code: 'needs_reauth' })
  t.match(events, [{ type: 'connection.broken', reason: 'needs_reauth' }])
})

t.test('a forced refresh just after another reuses its token only while that token has life left; one already due is refreshed again', async (t) => {
  const { tokens } = service()
  t.teardown(() => sandbox.control.configure({ accessTokenTtlSeconds: 86_399 }))
  await connected('client-long', 60_000)
  const long = await tokens.refreshNow('client-long')
  const before = sandbox.control.stats().refreshes
  t.equal((await tokens.refreshNow('client-long', long)).accessToken, long.accessToken, 'a day of life left: reused, no refresh spent')
  t.equal(sandbox.control.stats().refreshes - before, 0)

  // HighLevel hands out a token that lives 2 s (inside the refresh window): a 401 on it soon after is no reason to keep it.
  sandbox.control.configure({ accessTokenTtlSeconds: 2 })
  await connected('client-short', 60_000)
  const short = await tokens.refreshNow('client-short')
  const again = await tokens.refreshNow('client-short', short)
  t.not(again.accessToken, short.accessToken, 'a token already due is not handed back')
  t.equal(sandbox.control.stats().refreshes - before, 2, 'two refreshes: one each')
})
