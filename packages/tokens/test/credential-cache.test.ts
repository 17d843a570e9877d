import t from 'tap'
import { CredentialCache, type Credential } from '../src/index.ts'

const pit = (clientId: string): Credential => ({ kind: 'legacy_pit', clientId, locationId: 'loc', accessToken: `token-${clientId}` })

t.test('an entry is used until its TTL, then read again', async (t) => {
  let now = 0
  const cache = new CredentialCache<Credential>({ maxClients: 10, ttlMs: 30_000, now: () => now })
  cache.remember(pit('a'))
  now = 29_999
  t.equal(cache.get('a')?.accessToken, 'token-a')
  now = 30_000
  t.equal(cache.get('a'), null)
  t.equal(cache.size, 0, 'and it is gone')
})

t.test('bounded: past maxClients, the client used longest ago goes first', async (t) => {
  const cache = new CredentialCache<Credential>({ maxClients: 2, ttlMs: 30_000 })
  cache.remember(pit('a'))
  cache.remember(pit('b'))
  cache.get('a')
  cache.remember(pit('c'))
  t.equal(cache.size, 2)
  t.equal(cache.get('b'), null, 'b was used longest ago')
  t.ok(cache.get('a'))
  t.ok(cache.get('c'))
})

t.test('forget drops a client; remembering again replaces its entry', async (t) => {
  const cache = new CredentialCache<Credential>({ maxClients: 10, ttlMs: 30_000 })
  cache.remember(pit('a'))
  cache.forget('a')
  t.equal(cache.get('a'), null)
  cache.remember(pit('a'))
  cache.remember({ ...pit('a'), accessToken: 'newer' })
  t.equal(cache.get('a')?.accessToken, 'newer')
  t.equal(cache.size, 1)
})

t.test('update replaces an entry the cache holds and adds none', async (t) => {
  const cache = new CredentialCache<Credential>({ maxClients: 1, ttlMs: 30_000 })
  cache.remember(pit('busy'))
  cache.update(pit('idle'))
  t.equal(cache.size, 1)
  t.ok(cache.get('busy'), 'an idle client\'s refresh does not push a busy one out')
  cache.update({ ...pit('busy'), accessToken: 'refreshed' })
  t.equal(cache.get('busy')?.accessToken, 'refreshed')
})

t.test('announcements: a client\'s message drops its entry, an integration\'s drops the entry read from it, a reset drops all', async (t) => {
  const cache = new CredentialCache<{ clientId: string, integration: { id: string } }>({ maxClients: 10, ttlMs: 30_000 })
  const oauth = (clientId: string, integrationId: string) => ({ clientId, integration: { id: integrationId } })
  cache.remember(oauth('a', 'int-a'))
  cache.remember(oauth('b', 'int-b'))
  cache.remember(oauth('c', 'int-c'))
  cache.onMessage('client:a')
  t.equal(cache.get('a'), null)
  cache.onMessage('integration:int-b')
  t.equal(cache.get('b'), null)
  t.ok(cache.get('c'), 'another client\'s entry stays')
  cache.onMessage('integration:int-unknown')
  t.ok(cache.get('c'), 'an integration nobody cached drops nothing')
  cache.onMessage('something-newer:x')
  t.equal(cache.size, 0, 'a message this version cannot read drops everything')
  cache.remember(oauth('d', 'int-d'))
  cache.onReset()
  t.equal(cache.size, 0)
})

t.test('a read overtaken by an announcement is not kept', async (t) => {
  const cache = new CredentialCache<Credential>({ maxClients: 10, ttlMs: 30_000 })
  cache.remember(pit('a'), { generation: 4, current: 5 })
  t.equal(cache.get('a'), null)
  cache.remember(pit('a'), { generation: 5, current: 5 })
  t.ok(cache.get('a'))
})
