/**
 * Callers of one process that miss the cache together share one read: a busy client's jobs
 * finding its token come due are refreshed once, none of them queueing on the refresh lock
 * behind it (the bench's expired-token scenario: 20 jobs at once).
 */
import t from 'tap'
import { createLogger } from '@ghl-connect/logging'
import { CredentialCache, Credentials, type Credential } from '../src/index.ts'
import { sandboxed } from './sandboxed.ts'

const world = await sandboxed(t)

t.test('20 callers at once for a client whose token expired: one refresh, no caller waits on the lock', async (t) => {
  const outcomes: string[] = []
  const tokens = world.tokenService({ onOutcome: (o) => outcomes.push(o) })
  const credentials = new Credentials(tokens, null, createLogger({ level: 'silent' }), {
    cache: new CredentialCache<Credential>({ maxClients: 10, ttlMs: 60_000 }),
  })
  const expired = await world.connected('client-busy', -60_000)
  const stamp = await world.integrations.findForSending('client-busy')
  const refreshes = world.sandbox.control.stats().refreshes
  const got = await Promise.all(Array.from({ length: 20 }, () => credentials.forClient('client-busy', stamp && { integrationId: stamp.id, tokenVersion: stamp.tokenVersion, sendsWithOAuth: true, expiresAt: stamp.expiresAt })))
  t.equal(world.sandbox.control.stats().refreshes - refreshes, 1, 'HighLevel refreshed once')
  t.same(outcomes, ['refreshed'], 'one refresh, and no caller that took the lock after it to reuse its token')
  const stored = await world.integrations.findByClient('client-busy')
  t.not(stored?.accessToken, expired.accessToken)
  t.ok(got.every((c) => c.accessToken === stored?.accessToken), 'every caller has the refreshed token')
})

t.test('a read that fails fails every caller sharing it, and the next call reads again', async (t) => {
  const tokens = world.tokenService()
  const credentials = new Credentials(tokens, null, createLogger({ level: 'silent' }))
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => credentials.forClient('client-never-connected')))
  t.ok(results.every((r) => r.status === 'rejected'), 'all refused')
  await world.connected('client-never-connected', 3_600_000)
  t.equal((await credentials.forClient('client-never-connected')).kind, 'oauth', 'not the failed read again')
})
