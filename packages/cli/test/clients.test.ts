import t from 'tap'
import { createWorld } from './helper.ts'

t.test('clients list shows every connected client, broken ones first; --status picks needs_reauth, expiring or location_inactive', async (t) => {
  const w = await createWorld(t)
  await w.connect('healthy-client', { locationName: 'Sunrise Dental' })
  // Within the sweep's horizon (TOKEN_SWEEP_HORIZON_SECONDS, 10 minutes by default).
  const late = await w.connect('expiring-client', { expiresInMs: 8 * 60_000 })
  const broken = await w.connect('broken-client')
  await w.integrations.recordRefreshFailure(broken.id, broken.tokenVersion, { error: 'HighLevel refused the refresh token (invalid_grant): the client must reconnect', status: 'needs_reauth' })
  const paused = await w.connect('paused-client')
  await w.integrations.recordRefreshFailure(paused.id, paused.tokenVersion, { error: 'Location is not active', status: 'location_inactive' })
  await w.connect('gone-client')
  await w.integrations.deactivate('gone-client')

  const all = await w.ghl(['clients', 'list'])
  t.equal(all.code, 0)
  const [tableText, summary] = all.stdout.split('\n\n')
  t.equal(summary, '4 connections: 1 needs_reauth, 1 location_inactive, 1 expiring, 1 active.\n')
  const lines = tableText!.trimEnd().split('\n')
  t.match(lines[0], /^CLIENT\s+LOCATION\s+STATUS\s+EXPIRES\s+LAST REFRESH\s+FAILURES\s+LAST ERROR$/)
  t.same(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['broken-client', 'paused-client', 'expiring-client', 'healthy-client'],
    'broken first, then paused, expiring, healthy; a disconnected client is not listed')
  t.match(lines[1], /needs_reauth .*\s1\s+HighLevel refused the refresh token/)
  t.match(lines[3], /expiring\s+in (7|8)m\s+never\s+0/)
  t.match(lines[4], /Sunrise Dental \(sbxLocation\d+\)\s+active\s+in (19h 59m|20h)\s+never\s+0/)

  for (const [status, client] of [['needs_reauth', 'broken-client'], ['expiring', 'expiring-client'], ['location_inactive', 'paused-client']] as const) {
    const only = await w.ghl(['clients', 'list', '--status', status])
    t.same(only.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), [client], `--status ${status}`)
  }
  t.equal(late.status, 'active')
  t.same((await w.ghl(['clients', 'list', '--status', 'disconnected'])).stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), ['gone-client'],
    'the ended connections, on asking')

  const json = await w.ghl(['clients', 'list', '--json', '--status', 'needs_reauth'])
  const rows = JSON.parse(json.stdout)
  t.match(rows, [{ clientId: 'broken-client', status: 'needs_reauth', health: 'needs_reauth', refreshFailures: 1, lastErrorCode: 'invalid_grant', active: true }])
  t.notMatch(json.stdout + all.stdout, /token-of-/, 'no token, in the table or the JSON')
  t.notMatch(json.stdout, /accessToken|refreshToken/)
})

t.test('clients list says when nothing matches, and refuses an unknown --status with exit 2', async (t) => {
  const w = await createWorld(t)
  t.same(await w.ghl(['clients', 'list', '--status', 'expiring']), { code: 0, stdout: 'No client is expiring.\n', stderr: '' })
  const bad = await w.ghl(['clients', 'list', '--status', 'broken'])
  t.equal(bad.code, 2)
  t.equal(bad.stderr, 'ghl: --status must be one of needs_reauth, expiring, location_inactive, active, disconnected, unclaimed; got "broken".\n')
})

t.test("clients show prints the connection, its refresh failures and last error, and the last day's SMS by status; never a token", async (t) => {
  const w = await createWorld(t)
  const i = await w.connect('client-42', { locationName: 'Harbor Gym' })
  await w.integrations.recordRefreshFailure(i.id, i.tokenVersion, { error: 'HighLevel answered 503 to the refresh' })
  for (const [n, fail] of [[1, false], [2, true], [3, true]] as const) {
    const { message } = await w.messages.insertOnce({ clientId: 'client-42', integrationId: i.id, idempotencyKey: `k${n}`, to: { phone: '+15550100001' }, body: 'Your appointment is tomorrow.' })
    if (fail) await w.messages.markFailed(message.id, { code: 'contact_not_found', message: 'No contact' })
  }
  await w.messages.insertOnce({ clientId: 'someone-else', integrationId: null, idempotencyKey: 'x', to: { contactId: 'c1' }, body: 'hi' })

  const shown = await w.ghl(['clients', 'show', 'client-42'])
  t.equal(shown.code, 0)
  t.match(shown.stdout, /^client:\s+client-42$/m)
  t.match(shown.stdout, /^location:\s+Harbor Gym \(sbxLocation\d+\)$/m)
  t.match(shown.stdout, /^status:\s+active$/m)
  t.match(shown.stdout, /^last refresh:\s+never$/m)
  t.match(shown.stdout, /^refresh failures:\s+1 since the last good refresh$/m)
  t.match(shown.stdout, /^last error:\s+transient: HighLevel answered 503 to the refresh \(\d+s ago\)$/m)
  t.match(shown.stdout, /^sms, last 24h:\s+queued 1, sending 0, sent 0, failed 2, cancelled 0$/m)
  t.notMatch(shown.stdout, /token-of-|\+1555/, 'no token, no phone number')

  const json = JSON.parse((await w.ghl(['clients', 'show', 'client-42', '--json'])).stdout)
  t.match(json, { clientId: 'client-42', status: 'active', refreshFailures: 1, lastErrorCode: 'transient', lastError: 'HighLevel answered 503 to the refresh', sms: { queued: 1, failed: 2, sent: 0 } })

  await w.integrations.deactivate('client-42')
  t.match((await w.ghl(['clients', 'show', 'client-42'])).stdout, /^status:\s+revoked \(disconnected: no active connection\)$/m, 'a disconnected client shows its last connection')
})

t.test('clients show of a client that never connected exits 1 saying how to connect it; a malformed id exits 2', async (t) => {
  const w = await createWorld(t)
  const missing = await w.ghl(['clients', 'show', 'nobody'])
  t.same(missing, { code: 1, stdout: '', stderr: 'ghl: Client "nobody" has never connected GoHighLevel: create a connect link with `pnpm ghl links create nobody`.\n' })
  const bad = await w.ghl(['clients', 'show', 'has space'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^ghl: "has space" is not a client id/)
  t.equal((await w.ghl(['clients', 'show'])).code, 2)
})
