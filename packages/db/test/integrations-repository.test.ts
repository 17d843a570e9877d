import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { loadRotateKeysConfig } from '@ghl-connect/config'
import { createTestDatabase, randomEncryptionKey } from '../src/testing.ts'
import { IntegrationsRepository, LocationTakenError, TokenCipher, TokenDecryptionError, type NewConnection } from '../src/index.ts'

const db = await createTestDatabase()
t.teardown(db.drop)

const keysFrom = (value: string) => loadRotateKeysConfig({ DATABASE_URL: db.url, TOKEN_ENCRYPTION_KEYS: value }).encryption.keys
const oldKey = randomEncryptionKey('old')
const newKey = randomEncryptionKey('new')
const repoUnder = (keys: string, refreshWindowMs?: number) =>
  new IntegrationsRepository(db.db, new TokenCipher(keysFrom(keys)), { refreshWindowMs })

let n = 0
function connection (overrides: Partial<NewConnection> = {}): NewConnection {
  n++
  return {
    locationId: `loc-${n}`,
    locationName: `Location ${n}`,
    userType: 'Location',
    scopes: ['conversations/message.write', 'contacts.readonly'],
    accessToken: `access-token-${n}-${'a'.repeat(40)}`,
    refreshToken: `refresh-token-${n}-${'r'.repeat(40)}`,
    expiresAt: new Date(Date.now() + 86_399_000),
    ...overrides,
  }
}

t.test('tokens read back equal what was written, and the raw columns hold only ciphertext', async (t) => {
  const repo = repoUnder(oldKey)
  const c = connection()
  const saved = await repo.replaceActive('client-read', c)
  const found = await repo.findByClient('client-read')
  t.equal(found?.accessToken, c.accessToken)
  t.equal(found?.refreshToken, c.refreshToken)
  t.equal(found?.id, saved.id)
  const [raw] = await db.sql`select access_token, refresh_token from ghl_integrations where id = ${saved.id}`
  t.notMatch(raw?.access_token, c.accessToken)
  t.notMatch(raw?.refresh_token, c.refreshToken)
  t.match(raw?.access_token, /^v1\.old\./)
  t.equal((await repo.findByLocationId(c.locationId))?.id, saved.id)
})

t.test('a value encrypted under an old key still reads after the primary changes; rotate-keys moves every row to the new primary', async (t) => {
  const before = repoUnder(oldKey)
  const written = await Promise.all([1, 2, 3].map((i) => before.replaceActive(`client-rotate-${i}`, connection())))
  const bothKeys = `${newKey},${oldKey}`
  const after = repoUnder(bothKeys)
  t.equal((await after.findByClient('client-rotate-1'))?.accessToken, written[0]!.accessToken)

  const script = fileURLToPath(new URL('../scripts/rotate-keys.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', script], {
    env: { ...process.env, DATABASE_URL: db.url, TOKEN_ENCRYPTION_KEYS: bothKeys, LOG_LEVEL: 'silent' },
  })
  t.match(stdout, /re-encrypted under "new"/)
  const raws = await db.sql`select access_token, refresh_token from ghl_integrations where access_token is not null or refresh_token is not null`
  t.ok(raws.length >= 3)
  for (const raw of raws) {
    for (const v of [raw.access_token, raw.refresh_token]) if (v !== null) t.match(v, /^v1\.new\./)
  }
  const onlyNew = repoUnder(newKey)
  for (const [i, w] of written.entries()) {
    const found = await onlyNew.findByClient(`client-rotate-${i + 1}`)
    t.equal(found?.refreshToken, w.refreshToken)
  }
})

t.test('a tampered ciphertext fails with a clear error', async (t) => {
  const repo = repoUnder(newKey)
  const saved = await repo.replaceActive('client-tamper', connection())
  const [raw] = await db.sql`select access_token from ghl_integrations where id = ${saved.id}`
  const parts = String(raw?.access_token).split('.')
  const body = Buffer.from(parts[4]!, 'base64url')
  body[0] = body[0]! ^ 1
  parts[4] = body.toString('base64url')
  await db.sql`update ghl_integrations set access_token = ${parts.join('.')} where id = ${saved.id}`
  await t.rejects(repo.findByClient('client-tamper'), { name: 'TokenDecryptionError', message: /failed authentication under key "new"/ })

  const other = await repo.replaceActive('client-swap', connection())
  const [otherRaw] = await db.sql`select access_token from ghl_integrations where id = ${other.id}`
  await db.sql`update ghl_integrations set access_token = ${otherRaw?.access_token} where id = ${saved.id}`
  await t.rejects(repo.findByClient('client-tamper'), TokenDecryptionError, 'a ciphertext copied from another row does not decrypt')
  await t.rejects(repoUnder(oldKey).findByClient('client-swap'), { message: /key "new", which is not in TOKEN_ENCRYPTION_KEYS/ })
})

t.test('two writers holding the same token_version: exactly one wins', async (t) => {
  const repo = repoUnder(newKey)
  const saved = await repo.replaceActive('client-race', connection())
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.writeTokens(saved.id, saved.tokenVersion, {
    accessToken: `winner-candidate-${i}`, refreshToken: `refresh-candidate-${i}`, expiresAt: new Date(Date.now() + 3_600_000),
  })))
  t.equal(results.filter(Boolean).length, 1)
  const after = await repo.findByClient('client-race')
  const winner = results.indexOf(true)
  t.equal(after?.accessToken, `winner-candidate-${winner}`)
  t.equal(after?.refreshToken, `refresh-candidate-${winner}`)
  t.equal(after?.tokenVersion, saved.tokenVersion + 1)
  t.equal(await repo.writeTokens(saved.id, saved.tokenVersion, { accessToken: 'late', expiresAt: new Date() }), false, 'a stale version never overwrites')
})

t.test('a refresh answer without a refresh token keeps the stored one', async (t) => {
  const repo = repoUnder(newKey)
  const c = connection()
  const saved = await repo.replaceActive('client-keep', c)
  t.ok(await repo.writeTokens(saved.id, saved.tokenVersion, { accessToken: 'new-access', expiresAt: new Date(Date.now() + 1000) }))
  const after = await repo.findByClient('client-keep')
  t.equal(after?.accessToken, 'new-access')
  t.equal(after?.refreshToken, c.refreshToken)
})

t.test('connecting again replaces the active integration; disconnect erases the tokens', async (t) => {
  const repo = repoUnder(newKey)
  const first = await repo.replaceActive('client-replace', connection())
  const second = await repo.replaceActive('client-replace', connection())
  t.equal((await repo.findByClient('client-replace'))?.id, second.id)
  const old = await repo.findById(first.id)
  t.equal(old?.isActive, false)
  t.equal(old?.accessToken, null)
  t.equal(old?.refreshToken, null)
  t.equal(await repo.writeTokens(first.id, first.tokenVersion, { accessToken: 'x', expiresAt: new Date() }), false,
    'a refresh of the replaced row cannot bring it back')

  t.equal(await repo.deactivate('client-replace'), true)
  t.equal(await repo.findByClient('client-replace'), null)
  const [raw] = await db.sql`select access_token, refresh_token, is_active, status from ghl_integrations where id = ${second.id}`
  t.same(raw, { access_token: null, refresh_token: null, is_active: false, status: 'revoked' })
  t.equal(await repo.deactivate('client-replace'), false, 'nothing left to disconnect')
})

t.test('connecting a client says which location its active connection was on', async (t) => {
  const repo = repoUnder(newKey)
  const first = await repo.connectClient('client-report', connection({ locationId: 'loc-report-a' }))
  t.equal(first.previousLocationId, null)
  const second = await repo.connectClient('client-report', connection({ locationId: 'loc-report-b' }))
  t.equal(second.previousLocationId, 'loc-report-a')
  await repo.deactivate('client-report')
  const third = await repo.connectClient('client-report', connection({ locationId: 'loc-report-c' }))
  t.equal(third.previousLocationId, null, 'a disconnected connection is not replaced')

  await repo.saveUnclaimed(connection({ locationId: 'loc-report-d' }))
  const claimed = await repo.claim('client-report', 'loc-report-d')
  t.equal(claimed?.previousLocationId, 'loc-report-c', 'a claim reports the connection it replaced')
  const unclaimedOnly = await repo.connectClient('client-report-2', connection({ locationId: 'loc-report-e' }))
  await repo.saveUnclaimed(connection({ locationId: 'loc-report-f' }))
  const superseding = await repo.connectClient('client-report-3', connection({ locationId: 'loc-report-f' }))
  t.equal(unclaimedOnly.previousLocationId, null)
  t.equal(superseding.previousLocationId, null, 'superseding an unclaimed install replaces nothing of the client')
})

t.test('concurrent connections for one client leave exactly one active row', async (t) => {
  const repo = repoUnder(newKey)
  await Promise.all(Array.from({ length: 6 }, () => repo.replaceActive('client-concurrent', connection())))
  const [row] = await db.sql`select count(*)::int as n from ghl_integrations where client_id = 'client-concurrent' and is_active`
  t.equal(row?.n, 1)
})

t.test('an install without a client is kept unclaimed until a client claims it', async (t) => {
  const repo = repoUnder(newKey)
  const c = connection()
  const kept = await repo.saveUnclaimed(c)
  t.equal(kept.kind, 'unclaimed')
  const unclaimed = kept.integration
  t.equal(unclaimed.clientId, '')
  t.equal(await repo.claim('client-claim', 'no-such-location'), null)
  const claimed = await repo.claim('client-claim', c.locationId)
  t.equal(claimed?.integration.id, unclaimed.id)
  t.equal(claimed?.previousLocationId, null, 'the client had no connection to replace')
  t.equal((await repo.findByClient('client-claim'))?.accessToken, c.accessToken, 'claiming keeps the tokens readable')
  t.equal(await repo.claim('client-other', c.locationId), null, 'an install is claimed once')
})

t.test('one location, one client: a second client is refused (location taken) and keeps what it had; the holder reconnects freely', async (t) => {
  const repo = repoUnder(newKey)
  const held = connection()
  const holder = await repo.replaceActive('client-holder', held)
  const ownBefore = await repo.replaceActive('client-second', connection())
  await t.rejects(repo.connectClient('client-second', connection({ locationId: held.locationId })), LocationTakenError)
  t.equal((await repo.findByClient('client-second'))?.id, ownBefore.id, 'the refused client keeps its own connection (the whole replacement rolled back)')
  t.equal((await repo.findByLocationId(held.locationId))?.id, holder.id)
  const again = await repo.connectClient('client-holder', connection({ locationId: held.locationId }))
  t.equal(again.previousLocationId, held.locationId, 'the holder reconnecting its own location is no conflict')

  // Two clients racing for one free location: one holds it, the other is told it is taken.
  const free = connection()
  const race = await Promise.allSettled(['client-race-1', 'client-race-2', 'client-race-3'].map((c) => repo.connectClient(c, { ...free })))
  t.equal(race.filter((r) => r.status === 'fulfilled').length, 1)
  t.ok(race.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof LocationTakenError))
  const [row] = await db.sql`select count(*)::int as n from ghl_integrations where location_id = ${free.locationId} and is_active`
  t.equal(row?.n, 1)
})

t.test('an install of a location a client holds renews the holder\'s tokens: no unclaimed twin', async (t) => {
  const repo = repoUnder(newKey)
  const held = connection()
  const holder = await repo.replaceActive('client-renewed', held)
  await repo.recordRefreshFailure(holder.id, holder.tokenVersion, { error: 'Invalid grant', status: 'needs_reauth' })
  const minted = connection({ locationId: held.locationId, refreshToken: null, scopes: [] })
  const kept = await repo.saveUnclaimed(minted)
  t.equal(kept.kind, 'renewed')
  t.equal(kept.integration.id, holder.id)
  const now = await repo.findByClient('client-renewed')
  t.match(now, { accessToken: minted.accessToken, refreshToken: held.refreshToken, status: 'active', refreshFailures: 0, tokenVersion: holder.tokenVersion + 1 })
  t.same(now?.scopes, held.scopes, 'an install that names no scopes keeps the stored ones')
  const [row] = await db.sql`select count(*)::int as n from ghl_integrations where location_id = ${held.locationId} and is_active`
  t.equal(row?.n, 1, 'one active row for the location')
  t.equal(await repo.claim('client-thief', held.locationId), null, 'nothing unclaimed to claim')
})

t.test('isExpired and needsRefresh use the configured window', async (t) => {
  const now = new Date('2026-01-01T00:00:00Z')
  const at = (s: number) => ({ expiresAt: new Date(now.getTime() + s * 1000) })
  const repo = repoUnder(newKey)
  t.equal(repo.isExpired(at(0), now), true)
  t.equal(repo.isExpired(at(1), now), false)
  t.equal(repo.needsRefresh(at(299), now), true)
  t.equal(repo.needsRefresh(at(301), now), false)
  const wide = repoUnder(newKey, 600_000)
  t.equal(wide.needsRefresh(at(599), now), true)
})

t.test('listExpiring pages through active, refreshable rows in expiry order', async (t) => {
  const repo = repoUnder(newKey)
  await db.sql`update ghl_integrations set expires_at = now() + interval '30 days'`
  const soon = Date.now() + 60_000
  for (let i = 0; i < 7; i++) await repo.replaceActive(`client-sweep-${i}`, connection({ expiresAt: new Date(soon + i * 1000) }))
  await repo.deactivate('client-sweep-3')
  const broken = await repo.findByClient('client-sweep-5')
  await repo.recordRefreshFailure(broken!.id, broken!.tokenVersion, { error: 'Invalid grant', status: 'needs_reauth' })
  const seen: string[] = []
  let page = await repo.listExpiring(new Date(soon + 3_600_000), 2)
  while (page.length > 0) {
    seen.push(...page.map((p) => p.clientId))
    page = await repo.listExpiring(new Date(soon + 3_600_000), 2, page[page.length - 1])
  }
  t.same(seen, ['client-sweep-0', 'client-sweep-1', 'client-sweep-2', 'client-sweep-4', 'client-sweep-6'])
})

t.test('listExpiring pages to the end when expiries were written by SQL with sub-millisecond times', async (t) => {
  const repo = repoUnder(newKey)
  await db.sql`update ghl_integrations set is_active = false`
  await db.sql`insert into ghl_integrations (client_id, location_id, expires_at, refresh_token)
    select 'sql-' || g, 'l' || g, clock_timestamp() + interval '10 minutes', 'x' from generate_series(1, 9) g`
  const seen: string[] = []
  let page = await repo.listExpiring(new Date(Date.now() + 3_600_000), 2)
  for (let pages = 0; page.length > 0 && pages < 20; pages++) {
    seen.push(...page.map((p) => p.clientId))
    page = await repo.listExpiring(new Date(Date.now() + 3_600_000), 2, page[page.length - 1])
  }
  t.equal(seen.length, 9)
  t.equal(new Set(seen).size, 9, 'no row twice')
})
