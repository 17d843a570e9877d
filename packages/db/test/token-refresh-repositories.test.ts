import t from 'tap'
import { loadRotateKeysConfig } from '@ghl-connect/config'
import { createTestDatabase, randomEncryptionKey } from '../src/testing.ts'
import { IntegrationsRepository, TokenCipher, TokenDecryptionError, TokenRefreshAnswersRepository, TokenRefreshLeasesRepository } from '../src/index.ts'

const db = await createTestDatabase()
t.teardown(db.drop)

const cipher = new TokenCipher(loadRotateKeysConfig({ DATABASE_URL: db.url, TOKEN_ENCRYPTION_KEYS: randomEncryptionKey('k1') }).encryption.keys)
const integrations = new IntegrationsRepository(db.db, cipher)
const answers = new TokenRefreshAnswersRepository(db.db, cipher)
const leases = new TokenRefreshLeasesRepository(db.db)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let n = 0
const connect = () => integrations.replaceActive(`client-${++n}`, {
  locationId: `loc-${n}`, userType: 'Location', scopes: [], accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresAt: new Date(Date.now() + 60_000),
})

t.test('a refresh lease: one holder at a time, only for the version it read, free again when it ends or is released', async (t) => {
  const integration = await connect()
  const v = integration.tokenVersion
  t.equal(await leases.tryTake(integration.id, v, 'a', 150), 'taken')
  t.equal(await leases.tryTake(integration.id, v, 'b', 150), 'busy', 'while it runs, nobody else')
  t.equal(await leases.tryTake(integration.id, v - 1, 'b', 150), 'moved_on', 'a stale version is told so')
  await sleep(200)
  t.equal(await leases.tryTake(integration.id, v, 'b', 5000), 'taken', 'an ended lease is taken over')
  await leases.release(integration.id, 'a')
  t.equal(await leases.tryTake(integration.id, v, 'c', 5000), 'busy', 'a former holder cannot release the current one')
  await leases.release(integration.id, 'b')
  t.ok(await integrations.writeTokens(integration.id, v, { accessToken: 'next', expiresAt: new Date(Date.now() + 60_000) }))
  t.equal(await leases.tryTake(integration.id, v, 'c', 5000), 'moved_on', 'once the pair is written, its version is gone')
  t.equal(await leases.tryTake(integration.id, v + 1, 'c', 5000), 'taken')
})

t.test('concurrent takers of one lease: exactly one wins', async (t) => {
  const integration = await connect()
  const attempts = await Promise.all(Array.from({ length: 20 }, (_, i) => leases.tryTake(integration.id, integration.tokenVersion, `h${i}`, 5000)))
  t.equal(attempts.filter((a) => a === 'taken').length, 1)
})

t.test('a kept refresh answer: sealed, bound to its integration and version, removed once spent', async (t) => {
  const integration = await connect()
  const tokens = { accessToken: 'kept-access', refreshToken: 'kept-refresh', expiresAt: new Date(Date.now() + 86_399_000), scopes: ['a', 'b'] }
  const sealed = answers.seal(integration.id, integration.tokenVersion, tokens)
  t.notMatch(sealed, 'kept-access')
  t.throws(() => answers.open(integration.id, integration.tokenVersion + 1, sealed), TokenDecryptionError, 'not for another version')
  await answers.keep(integration.id, integration.tokenVersion, sealed)
  t.same(await answers.find(integration.id, integration.tokenVersion), tokens)
  t.equal(await answers.find(integration.id, integration.tokenVersion + 1), null)
  const [row] = await db.sql`select sealed from token_refresh_answers where integration_id = ${integration.id}`
  t.notMatch(String(row?.sealed), 'kept-refresh', 'PostgreSQL holds ciphertext only')
  await answers.removeUpTo(integration.id, integration.tokenVersion)
  t.equal(await answers.find(integration.id, integration.tokenVersion), null)
})
