import t from 'tap'
import { createTestDatabase } from '../src/testing.ts'
import { InstallClaimCodesRepository, UsedConnectLinksRepository } from '../src/index.ts'

const db = await createTestDatabase()
t.teardown(db.drop)

t.test('a connect link is marked used once, even by concurrent uses; a released link can be used again', async (t) => {
  const links = new UsedConnectLinksRepository(db.db)
  const use = { linkHash: 'link-a', clientId: 'client-a', expiresAt: new Date(Date.now() + 600_000) }
  t.equal(await links.isUsed('link-a'), false)
  const marks = await Promise.all(Array.from({ length: 8 }, () => links.markUsed(use)))
  t.equal(marks.filter(Boolean).length, 1, 'exactly one use wins')
  t.equal(await links.isUsed('link-a'), true)
  await links.release('link-a')
  t.equal(await links.isUsed('link-a'), false)
  t.equal(await links.markUsed(use), true)
})

t.test('rows of links expired over an hour ago are dropped when another link is used', async (t) => {
  const links = new UsedConnectLinksRepository(db.db)
  await links.markUsed({ linkHash: 'link-old', clientId: 'c', expiresAt: new Date(Date.now() - 2 * 3600_000) })
  await links.markUsed({ linkHash: 'link-recent', clientId: 'c', expiresAt: new Date(Date.now() - 60_000) })
  await links.markUsed({ linkHash: 'link-new', clientId: 'c', expiresAt: new Date(Date.now() + 60_000) })
  t.equal(await links.isUsed('link-old'), false)
  t.equal(await links.isUsed('link-recent'), true, 'kept an hour past expiry')
})

t.test('a claim code: wrong attempts are counted until it is dead; the right one is consumed once', async (t) => {
  const codes = new InstallClaimCodesRepository(db.db)
  const is = (expected: string) => (stored: string) => stored === expected
  await codes.issue('loc-1', 'hash-1', new Date(Date.now() + 86_400_000))
  t.same(await codes.redeem('loc-1', is('nope'), 3), { outcome: 'wrong', attemptsLeft: 2 })
  t.same(await codes.redeem('loc-1', is('hash-1'), 3), { outcome: 'accepted' })
  t.same(await codes.redeem('loc-1', is('hash-1'), 3), { outcome: 'unknown' }, 'consumed')

  await codes.issue('loc-2', 'hash-2', new Date(Date.now() + 86_400_000))
  const guesses = await Promise.all(Array.from({ length: 5 }, () => codes.redeem('loc-2', is('nope'), 3)))
  t.same(guesses.map((g) => g.outcome).sort(), ['exhausted', 'exhausted', 'wrong', 'wrong', 'wrong'], 'concurrent guesses are each counted')
  t.same(await codes.redeem('loc-2', is('hash-2'), 3), { outcome: 'exhausted' }, 'the right code no longer works')

  await codes.issue('loc-2', 'hash-2b', new Date(Date.now() + 86_400_000))
  t.same(await codes.redeem('loc-2', is('hash-2b'), 3), { outcome: 'accepted' }, 'a new install replaces the code and its attempts')

  await codes.issue('loc-3', 'hash-3', new Date(Date.now() - 1000))
  t.same(await codes.redeem('loc-3', is('hash-3'), 3), { outcome: 'expired' })
})
