import t from 'tap'
import { createTestDatabase, randomEncryptionKey } from '../src/testing.ts'
import { ConnectionsOverviewRepository, IntegrationsRepository, TokenCipher } from '../src/index.ts'
import { loadRotateKeysConfig } from '@ghl-connect/config'

const db = await createTestDatabase()
t.teardown(db.drop)
const keys = loadRotateKeysConfig({ DATABASE_URL: db.url, TOKEN_ENCRYPTION_KEYS: randomEncryptionKey('k1') }).encryption.keys
const integrations = new IntegrationsRepository(db.db, new TokenCipher(keys))
const overview = new ConnectionsOverviewRepository(db.db)
const MINUTE = 60_000
const connect = (clientId: string, locationId: string, expiresInMs: number) => integrations.replaceActive(clientId, {
  locationId, userType: 'Location', scopes: [], accessToken: `at-${clientId}`, refreshToken: `rt-${clientId}`, expiresAt: new Date(Date.now() + expiresInMs),
})

t.test('expiring is decided by the horizon and the time the caller gives; a disconnected client is listed once, as its newest connection', async (t) => {
  await connect('c-30min', 'loc-a', 30 * MINUTE)
  await connect('c-3h', 'loc-b', 180 * MINUTE)
  await connect('c-left', 'loc-old', 60 * MINUTE)
  await connect('c-left', 'loc-new', 60 * MINUTE)
  await integrations.deactivate('c-left')

  const hour = await overview.list({ expiringWithinMs: 60 * MINUTE, limit: 10 })
  t.same(hour.connections.map((c) => [c.clientId, c.health]), [['c-30min', 'expiring'], ['c-3h', 'active'], ['c-left', 'disconnected']])
  t.equal(hour.connections[2]!.locationId, 'loc-new', 'the newest of its past connections')
  t.equal(hour.total, 3)
  t.match(await overview.countByHealth({ expiringWithinMs: 60 * MINUTE }), { expiring: 1, active: 1, disconnected: 1, needs_reauth: 0, unclaimed: 0 })
  t.match(await overview.countByHealth({ expiringWithinMs: 4 * 60 * MINUTE }), { expiring: 2, active: 0 }, 'a longer horizon')
  t.match(await overview.countByHealth({ expiringWithinMs: 0, now: new Date(Date.now() + 31 * MINUTE) }), { expiring: 1 }, 'as of a later time: expired counts as expiring')

  const past = await overview.list({ expiringWithinMs: 60 * MINUTE, limit: 2, offset: 2 })
  t.same(past.connections.map((c) => c.clientId), ['c-left'])
  t.equal(past.total, 3)
  const beyond = await overview.list({ expiringWithinMs: 60 * MINUTE, limit: 2, offset: 10 })
  t.same(beyond, { connections: [], total: 3 }, 'past the last page the total is still told')
  const found = await overview.list({ expiringWithinMs: 60 * MINUTE, limit: 10, search: 'LOC-B', health: ['active', 'expiring'] })
  t.same(found.connections.map((c) => c.clientId), ['c-3h'])
})
