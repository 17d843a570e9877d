import t from 'tap'
import { createTestDatabase } from '../src/testing.ts'
import { ghlIntegrations, integrationStatuses, sendingAccess, sendsWithOAuth, sql, type IntegrationStatus, type SendingAccess, type SendingFacts } from '../src/index.ts'

const db = await createTestDatabase()
t.teardown(db.drop)

const combinations = [true, false].flatMap((isActive) => [null, 'ciphertext'].flatMap((accessToken) =>
  integrationStatuses.map((status) => ({ isActive, accessToken, status }))))

t.test('the SQL fast path admits exactly the integrations the rule lets send by OAuth, on every combination', async (t) => {
  for (const [i, c] of combinations.entries()) {
    await db.sql`insert into ghl_integrations (client_id, location_id, expires_at, is_active, access_token, status)
      values (${`client-${i}`}, 'loc-1', now() + interval '1 day', ${c.isActive}, ${c.accessToken}, ${c.status})`
  }
  const rows = await db.db.execute<{ client_id: string, oauth: boolean }>(
    sql`select ${ghlIntegrations.clientId}, (${sendsWithOAuth}) as oauth from ghl_integrations`)
  const admitted = new Map(rows.map((r) => [r.client_id, r.oauth]))
  t.equal(admitted.size, combinations.length)
  for (const [i, c] of combinations.entries()) {
    for (const legacyPitFallback of [false, true]) {
      t.equal(sendingAccess(c, { legacyPitFallback }).kind === 'oauth', admitted.get(`client-${i}`),
        `${JSON.stringify(c)}, fallback ${legacyPitFallback ? 'on' : 'off'}`)
    }
  }
})

t.test('the rule: OAuth when connected; the legacy PIT only for a client without a token; needs_reauth refused even with the fallback', async (t) => {
  const kind = (access: SendingAccess<SendingFacts>) => access.kind === 'refused' ? access.code : access.kind
  const judge = (i: SendingFacts | null, legacyPitFallback: boolean) => kind(sendingAccess(i, { legacyPitFallback }))
  const row = (status: IntegrationStatus, accessToken: string | null = 'token', isActive = true): SendingFacts => ({ isActive, accessToken, status })

  t.equal(judge(null, false), 'not_connected')
  t.equal(judge(null, true), 'legacy_pit')
  for (const fallback of [false, true]) {
    t.equal(judge(row('active'), fallback), 'oauth')
    t.equal(judge(row('location_inactive'), fallback), 'oauth', 'a paused location is retried by the sender, not refused here')
    t.equal(judge(row('revoked'), fallback), 'oauth')
    t.equal(judge(row('needs_reauth'), fallback), 'needs_reauth')
    t.equal(judge(row('needs_reauth', null), fallback), fallback ? 'needs_reauth' : 'not_connected')
    t.equal(judge(row('active', 'token', false), fallback), fallback ? 'legacy_pit' : 'not_connected', 'an inactive integration is a past one')
  }
  t.equal(judge(row('active', null), false), 'not_connected')
  t.equal(judge(row('active', null), true), 'legacy_pit')
  const integration = row('active')
  t.same(sendingAccess(integration, { legacyPitFallback: false }), { kind: 'oauth', integration })
})
