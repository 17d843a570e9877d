import t from 'tap'
import { createLogger } from '@ghl-connect/logging'
import { Credentials, withFreshToken, type AccessToken, type Credential } from '../src/index.ts'
import { LOCATION, sandboxed } from './sandboxed.ts'

const { sandbox, config, ghl, integrations, connected: stored, tokenService } = await sandboxed(t)
const tokens = tokenService()
const credentials = new Credentials(tokens, null, createLogger({ level: 'silent' }))

async function connected (clientId: string) {
  await stored(clientId, 3_600_000)
  return credentials.forClient(clientId)
}

/** A HighLevel call as a job makes it, counting the tokens it was made with. */
function lookup (used: string[], before?: () => void) {
  return async (token: AccessToken) => {
    before?.()
    used.push(token.accessToken)
    return ghl.contacts.findByPhone({ ...token, phone: '+15550109999' })
  }
}

t.test('an access token HighLevel rejects is refreshed once through the locked path and the call retried once', async (t) => {
  const credential = await connected('client-expired')
  sandbox.control.revokeTokens(LOCATION)
  const refreshes = sandbox.control.stats().refreshes
  const used: string[] = []
  await withFreshToken(tokens, credential)(lookup(used))
  t.equal(sandbox.control.stats().refreshes - refreshes, 1)
  t.equal(used.length, 2)
  t.not(used[1], used[0], 'retried with the refreshed token')
  t.equal(used[1], (await integrations.findByClient('client-expired'))?.accessToken, 'the one stored by the refresh')
})

t.test('a token still rejected after the refresh is not refreshed again: the second 401 is thrown', async (t) => {
  const credential = await connected('client-rejected')
  const refreshes = sandbox.control.stats().refreshes
  const used: string[] = []
  await t.rejects(withFreshToken(tokens, credential)(lookup(used, () => sandbox.control.revokeTokens(LOCATION))), { name: 'GhlError', kind: 'token_expired' })
  t.equal(sandbox.control.stats().refreshes - refreshes, 1)
  t.equal(used.length, 2)
})

t.test('one refresh for the whole job: after it, a later call\'s 401 is thrown, not refreshed', async (t) => {
  const credential = await connected('client-job')
  const refreshes = sandbox.control.stats().refreshes
  const withToken = withFreshToken(tokens, credential)
  sandbox.control.revokeTokens(LOCATION)
  const used: string[] = []
  await withToken(lookup(used))
  t.equal(used.length, 2, 'the recipient lookup: refreshed and retried')
  sandbox.control.revokeTokens(LOCATION)
  await t.rejects(withToken(lookup(used)), { name: 'GhlError', kind: 'token_expired' })
  t.equal(used.length, 3, 'the POST: tried once')
  t.equal(used[2], used[1], 'with the token the job refreshed')
  t.equal(sandbox.control.stats().refreshes - refreshes, 1)
})

t.test('other failures are not retried, and a legacy Private Integration Token is never refreshed', async (t) => {
  const credential = await connected('client-scope')
  const refreshes = sandbox.control.stats().refreshes
  sandbox.control.setFaults({ missingScopeNext: 1 }, LOCATION)
  t.teardown(() => sandbox.control.clearFaults(LOCATION))
  const used: string[] = []
  await t.rejects(withFreshToken(tokens, credential)(lookup(used)), { name: 'GhlError', kind: 'scope_missing' })
  t.equal(used.length, 1)

  const legacy: Credential = { kind: 'legacy_pit', clientId: 'client-legacy', locationId: LOCATION, accessToken: 'pit-not-known-to-highlevel' }
  await t.rejects(withFreshToken(tokens, legacy)(lookup(used)), { name: 'GhlError', kind: 'token_expired' })
  t.equal(used.length, 2)
  t.equal(sandbox.control.stats().refreshes - refreshes, 0)
})

t.test('credentials: the legacy PIT stands in only for a client without OAuth, and only with the fallback on', async (t) => {
  const warnings: string[] = []
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => { warnings.push(line) } } })
  const withPit = new Credentials(tokens, { token: 'pit-token', locationId: LOCATION }, logger)
  t.same(await withPit.forClient('client-never-connected'), { kind: 'legacy_pit', clientId: 'client-never-connected', locationId: LOCATION, accessToken: 'pit-token' })
  t.match(warnings.join(''), /"deprecation":"legacy_pit"/)
  await connected('client-oauth')
  t.match(await withPit.forClient('client-oauth'), { kind: 'oauth', clientId: 'client-oauth', locationId: LOCATION })
  await t.rejects(credentials.forClient('client-never-connected'), { code: 'not_connected' })

  await connected('client-dead')
  const dead = (await integrations.findByClient('client-dead'))!
  await integrations.recordRefreshFailure(dead.id, dead.tokenVersion, { status: 'needs_reauth', error: 'invalid_grant' })
  await t.rejects(withPit.forClient('client-dead'), { code: 'needs_reauth' }, 'needs_reauth is refused even with the fallback on')
})
