import t from 'tap'
import { createTestDatabase, randomEncryptionKey } from '../src/testing.ts'
import { ConnectionsOverviewRepository, IntegrationsRepository, TokenCipher } from '../src/index.ts'

const db = await createTestDatabase()
t.teardown(db.drop)
const integrations = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: Buffer.from(randomEncryptionKey('k1').split(':')[1]!, 'base64') }]))
const overview = new ConnectionsOverviewRepository(db.db)
const now = new Date('2026-11-30T03:00:00Z')
const hour = 3_600_000

async function connect (clientId: string, expiresInMs: number, status?: 'needs_reauth' | 'location_inactive') {
  const { integration } = await integrations.connectClient(clientId, {
    locationId: `loc-${clientId}`, userType: 'Location', scopes: [], accessToken: 'a'.repeat(40), refreshToken: 'r'.repeat(40),
    expiresAt: new Date(now.getTime() + expiresInMs),
  })
  if (status) await integrations.recordRefreshFailure(integration.id, integration.tokenVersion, { error: `refresh failed: ${status}`, status })
}

await connect('zed-healthy', 20 * hour)
await connect('amy-healthy', 10 * hour)
await connect('late-expired', -5 * 60_000)
await connect('soon-expiring', 30 * 60_000)
await connect('beta-reauth', 20 * hour, 'needs_reauth')
await connect('alpha-reauth', 20 * hour, 'needs_reauth')
await connect('paused', 20 * hour, 'location_inactive')
await integrations.saveUnclaimed({ locationId: 'loc-unclaimed', userType: 'Location', scopes: [], accessToken: 'a'.repeat(40), refreshToken: null, expiresAt: new Date(now.getTime() - hour) })
await connect('ended', 20 * hour)
await integrations.deactivate('ended')

t.test('connections overview: broken first (needs_reauth, location_inactive, expiring soonest first, then the rest), by client id within each; no unclaimed or ended ones', async (t) => {
  const rows = await overview.list({ now })
  t.same(rows.map((r) => [r.clientId, r.health]), [
    ['alpha-reauth', 'needs_reauth'], ['beta-reauth', 'needs_reauth'], ['paused', 'location_inactive'],
    ['late-expired', 'expiring'], ['soon-expiring', 'expiring'], ['amy-healthy', 'active'], ['zed-healthy', 'active'],
  ])
  t.notOk(Object.keys(rows[0]!).some((k) => /token$/i.test(k) && k !== 'tokenVersion'), 'no token columns')
  t.same(await overview.countByHealth({ now }), { needs_reauth: 2, location_inactive: 1, expiring: 2, active: 2 })
  t.same((await overview.list({ now, expiringWithinMs: 11 * hour, health: 'expiring' })).map((r) => r.clientId), ['late-expired', 'soon-expiring', 'amy-healthy'], 'the horizon is the caller\'s')
})

t.test('connections overview: search by part of a client id (any case, % and _ taken literally), pages with limit and offset', async (t) => {
  t.same((await overview.list({ now, search: 'REAUTH' })).map((r) => r.clientId), ['alpha-reauth', 'beta-reauth'])
  t.same(await overview.list({ now, search: '%' }), [])
  t.same((await overview.list({ now, search: 'healthy', health: 'active' })).map((r) => r.clientId), ['amy-healthy', 'zed-healthy'])
  t.same((await overview.list({ now, limit: 2, offset: 2 })).map((r) => r.clientId), ['paused', 'late-expired'])
  t.match(await overview.findClient('ended', { now }), { clientId: 'ended', isActive: false, status: 'revoked', health: 'ended' })
  t.equal(await overview.findClient('never', { now }), null)
})
