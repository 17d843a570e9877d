import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { basisHolds, ContactDndRepository, ghlIntegrations, IntegrationsRepository, integrationStatuses, sendingAccess, SmsMessagesRepository, sendsWithOAuth, sql, TokenCipher, type CredentialBasis, type IntegrationStatus, type SendingAccess, type SendingFacts } from '../src/index.ts'
import { createTestDatabase } from '../src/testing.ts'

const db = await createTestDatabase()
t.teardown(db.drop)

/**
 * Each write of `clientId`'s rows (`insert` or `update`) holds its row lock 0.3 s, so two
 * statements each hold their first row before either asks for its second: a deadlock, unless
 * both take their rows in one order. Removed when the test ends.
 */
async function slowRows (t: Test, on: 'insert' | 'update', clientId: string): Promise<void> {
  const name = `slow_${on}_${clientId.replaceAll('-', '_')}`
  await db.sql.unsafe(`create function ${name}() returns trigger language plpgsql as $$
    begin if new.client_id = '${clientId}' then perform pg_sleep(0.3); end if; return new; end $$`)
  await db.sql.unsafe(`create trigger ${name} before ${on} on sms_messages for each row execute function ${name}()`)
  t.teardown(async () => { await db.sql.unsafe(`drop trigger ${name} on sms_messages; drop function ${name}()`) })
}

const combinations = [true, false].flatMap((isActive) => [null, 'ciphertext'].flatMap((accessToken) =>
  integrationStatuses.map((status) => ({ isActive, accessToken, status }))))

t.test('the SQL fast path admits exactly the integrations the rule lets send by OAuth, on every combination', async (t) => {
  for (const [i, c] of combinations.entries()) {
    await db.sql`insert into ghl_integrations (client_id, location_id, expires_at, is_active, access_token, status)
      values (${`client-${i}`}, ${`loc-${i}`}, now() + interval '1 day', ${c.isActive}, ${c.accessToken}, ${c.status})`
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

t.test('the rule: OAuth when connected; the legacy PIT only for a client that never connected; needs_reauth refused even with the fallback', async (t) => {
  const kind = (access: SendingAccess<SendingFacts>) => access.kind === 'refused' ? access.code : access.kind
  const judge = (i: SendingFacts | null, legacyPitFallback: boolean) => kind(sendingAccess(i, { legacyPitFallback }))
  const row = (status: IntegrationStatus, accessToken: string | null = 'token', isActive = true): SendingFacts => ({ isActive, accessToken, status })

  t.equal(judge(null, false), 'not_connected')
  t.equal(judge(null, true), 'legacy_pit', 'only a client without any integration, past or present')
  for (const fallback of [false, true]) {
    t.equal(judge(row('active'), fallback), 'oauth')
    t.equal(judge(row('location_inactive'), fallback), 'oauth', 'a paused location is retried by the sender, not refused here')
    t.equal(judge(row('revoked'), fallback), 'oauth')
    t.equal(judge(row('needs_reauth'), fallback), 'needs_reauth')
    t.equal(judge(row('needs_reauth', null), fallback), 'needs_reauth')
    t.equal(judge(row('needs_reauth', null, false), fallback), 'needs_reauth', 'a broken connection, ended: reconnect, never the PIT')
    t.equal(judge(row('active', 'token', false), fallback), 'not_connected', 'an inactive integration is a past one: the client must connect again')
    t.equal(judge(row('revoked', null, false), fallback), 'not_connected', 'disconnected or uninstalled: never the PIT')
    t.equal(judge(row('active', null), fallback), 'not_connected')
  }
  const integration = row('active')
  t.same(sendingAccess(integration, { legacyPitFallback: false }), { kind: 'oauth', integration })
})

t.test('findForSending: the active integration, else the newest past one, else null; so a disconnected client is never sent with the PIT', async (t) => {
  const repo = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: randomBytes(32) }]))
  const connection = { locationId: 'loc-h', userType: 'Location', scopes: [], accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 86_400_000) }
  t.equal(await repo.findForSending('history-never'), null)
  t.equal(sendingAccess(await repo.findForSending('history-never'), { legacyPitFallback: true }).kind, 'legacy_pit')

  const first = await repo.replaceActive('history-left', connection)
  const second = await repo.replaceActive('history-left', { ...connection, locationId: 'loc-h2' })
  t.equal((await repo.findForSending('history-left'))?.id, second.id, 'the active one')
  await repo.deactivate('history-left')
  const past = await repo.findForSending('history-left')
  t.equal(past?.id, second.id, 'the newest past one, not the first')
  t.not(past?.id, first.id)
  t.same(sendingAccess(past, { legacyPitFallback: true }), { kind: 'refused', code: 'not_connected' })
})

t.test('a credential\'s basis holds, read beside the outbox row and in the sending write alike, only while its integration and token version are the stored ones', async (t) => {
  const repo = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: randomBytes(32) }]))
  const messages = new SmsMessagesRepository(db.db)
  const connection = { locationId: 'loc-basis', userType: 'Location', scopes: [], accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 86_400_000) }
  const read = await repo.replaceActive('basis', connection)
  const oauth: CredentialBasis = { kind: 'oauth', integrationId: read.id, tokenVersion: read.tokenVersion }
  const pit: CredentialBasis = { kind: 'legacy_pit', clientId: 'basis' }
  const never: CredentialBasis = { kind: 'legacy_pit', clientId: 'basis-never' }

  /** Whether each basis holds, by the stamp read with a message and by the `queued -> sending` write. */
  async function holds (basis: CredentialBasis): Promise<{ read: boolean, write: boolean }> {
    const clientId = basis.kind === 'legacy_pit' ? basis.clientId : 'basis'
    const { message } = await messages.insertOnce({ clientId, integrationId: null, idempotencyKey: null, to: { contactId: 'c' }, body: 'b' })
    const found = await messages.findWithStamp(message.id)
    const write = await messages.markSending(message.id, { attemptId: crypto.randomUUID(), contactId: 'c', startedAt: new Date() }, basis)
    return { read: basisHolds(basis, found!.stamp), write }
  }

  t.same(await holds(oauth), { read: true, write: true }, 'as read')
  t.same(await holds(pit), { read: false, write: false }, 'a connected client is not a legacy PIT client')
  t.same(await holds(never), { read: true, write: true }, 'a client that never connected is')
  await repo.writeTokens(read.id, read.tokenVersion, { accessToken: 'a2', expiresAt: new Date(Date.now() + 86_400_000) })
  t.same(await holds(oauth), { read: false, write: false }, 'refreshed: the version moved on')
  const refreshed = (await repo.findByClient('basis'))!
  const current: CredentialBasis = { kind: 'oauth', integrationId: refreshed.id, tokenVersion: refreshed.tokenVersion }
  t.same(await holds(current), { read: true, write: true })
  await repo.recordRefreshFailure(refreshed.id, refreshed.tokenVersion, { error: 'invalid_grant', status: 'needs_reauth' })
  t.same(await holds(current), { read: false, write: false }, 'broken (same version): the rule refuses it')
  const again = await repo.replaceActive('basis', connection)
  t.same(await holds(current), { read: false, write: false }, 'reconnected: another integration')
  await repo.deactivate('basis')
  t.same(await holds({ kind: 'oauth', integrationId: again.id, tokenVersion: again.tokenVersion }), { read: false, write: false }, 'disconnected')
  t.same(await holds(pit), { read: false, write: false }, 'a client that connected once is never a legacy PIT client again')
})

t.test('the message is read with its contact\'s do-not-disturb at the location its client sends from, and only there', async (t) => {
  const repo = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: randomBytes(32) }]))
  const messages = new SmsMessagesRepository(db.db)
  const dnd = new ContactDndRepository(db.db)
  await repo.replaceActive('dnd-client', { locationId: 'loc-dnd', userType: 'Location', scopes: [], accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 86_400_000) })
  const read = async (clientId: string, to: { contactId: string } | { phone: string }) => {
    const { message } = await messages.insertOnce({ clientId, integrationId: null, idempotencyKey: null, to, body: 'b' })
    return (await messages.findWithStamp(message.id))!.recipientDnd
  }
  await dnd.record({ locationId: 'loc-dnd', contactId: 'opted-out', smsDnd: true, emailDnd: false, changedAt: new Date() })
  await dnd.record({ locationId: 'loc-elsewhere', contactId: 'opted-out-elsewhere', smsDnd: true, changedAt: new Date() })
  t.same(await read('dnd-client', { contactId: 'opted-out' }), { locationId: 'loc-dnd', contactId: 'opted-out', smsDnd: true, emailDnd: false })
  t.same(await read('dnd-client', { contactId: 'never-reported' }), { locationId: 'loc-dnd', contactId: 'never-reported', smsDnd: null, emailDnd: null }, 'read, and never reported')
  t.same(await read('dnd-client', { contactId: 'opted-out-elsewhere' }), { locationId: 'loc-dnd', contactId: 'opted-out-elsewhere', smsDnd: null, emailDnd: null }, 'another location\'s report is not this one\'s')
  t.equal(await read('dnd-client', { phone: '+15550100001' }), null, 'a contact known only after the lookup: not read here')
  t.equal(await read('dnd-never-connected', { contactId: 'opted-out' }), null, 'no integration, no location to read it at')
})

t.test('a group of sending writes in one statement: each row written only under its own conditions, each caller told its own answer', async (t) => {
  const repo = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: randomBytes(32) }]))
  const messages = new SmsMessagesRepository(db.db)
  const read = await repo.replaceActive('group-oauth', { locationId: 'loc-group', userType: 'Location', scopes: [], accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 86_400_000) })
  const stale: CredentialBasis = { kind: 'oauth', integrationId: read.id, tokenVersion: read.tokenVersion }
  await repo.writeTokens(read.id, read.tokenVersion, { accessToken: 'a2', expiresAt: new Date(Date.now() + 86_400_000) })
  const now = (await repo.findByClient('group-oauth'))!
  const current: CredentialBasis = { kind: 'oauth', integrationId: now.id, tokenVersion: now.tokenVersion }
  const queued = async (clientId: string) => (await messages.insertOnce({ clientId, integrationId: null, idempotencyKey: null, to: { contactId: 'c' }, body: 'b' })).message
  const attempt = (id: string, basis?: CredentialBasis) => ({ id, attemptId: crypto.randomUUID(), contactId: `contact-of-${id}`, startedAt: new Date(), basis })

  const plain = attempt((await queued('group-plain')).id)
  const taken = (await queued('group-plain')).id
  const earlier = attempt(taken)
  t.ok(await messages.markSending(earlier.id, earlier), 'taken by an earlier attempt')
  const takenAgain = attempt(taken)
  const movedOn = attempt((await queued('group-oauth')).id, stale)
  const oauth = attempt((await queued('group-oauth')).id, current)
  const pit = attempt((await queued('group-never')).id, { kind: 'legacy_pit', clientId: 'group-never' })
  const pitOfConnected = attempt((await queued('group-oauth')).id, { kind: 'legacy_pit', clientId: 'group-oauth' })

  const group = [plain, takenAgain, movedOn, oauth, pit, pitOfConnected]
  t.same(await messages.markSendingMany(group), [true, false, false, true, true, false],
    'queued: yes; already sending: no; token version moved on: no; current version: yes; legacy PIT, never connected: yes; legacy PIT of a connected client: no')

  const rows = await Promise.all(group.map((w) => messages.findById(w.id)))
  for (const w of [plain, oauth, pit]) {
    t.match(await messages.findById(w.id), { status: 'sending', attemptId: w.attemptId, ghlContactId: w.contactId, attemptStartedAt: w.startedAt }, 'written as its own attempt')
  }
  t.match(rows[1], { status: 'sending', attemptId: earlier.attemptId, ghlContactId: earlier.contactId }, 'the earlier attempt keeps the row')
  t.match(rows[2], { status: 'queued', attemptId: null })
  t.match(rows[5], { status: 'queued', attemptId: null })
  const [writes] = await db.db.execute<{ n: string }>(sql`select count(distinct xmin::text) as n from sms_messages where id in (${sql.join([plain, oauth, pit].map((w) => sql`${w.id}::uuid`), sql`, `)})`)
  t.equal(Number(writes!.n), 1, 'one transaction wrote the three')
  t.same(await messages.markSendingMany([]), [])
})

t.test('a group\'s first read: each id answered with its own row and stamp, a missing one with null, in the order asked', async (t) => {
  const repo = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: randomBytes(32) }]))
  const messages = new SmsMessagesRepository(db.db)
  const dnd = new ContactDndRepository(db.db)
  await repo.replaceActive('read-connected', { locationId: 'loc-read', userType: 'Location', scopes: [], accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 86_400_000) })
  await dnd.record({ locationId: 'loc-read', contactId: 'read-opted-out', smsDnd: true, emailDnd: false, changedAt: new Date() })
  const insert = async (clientId: string, to: { contactId: string } | { phone: string }) =>
    (await messages.insertOnce({ clientId, integrationId: null, idempotencyKey: null, to, body: 'b' })).message.id
  const ids = [
    await insert('read-connected', { contactId: 'read-opted-out' }),
    await insert('read-never-connected', { contactId: 'c' }),
    await insert('read-connected', { phone: '+15550100009' }),
  ]
  const missing = crypto.randomUUID()
  const asked = [ids[0]!, missing, ids[1]!, ids[2]!, 'not-a-uuid']
  const many = await messages.findWithStampMany(asked)
  t.equal(many.length, asked.length)
  t.equal(many[1], null, 'no such message')
  t.equal(many[4], null, 'not an outbox id at all: null, not an error for the group')
  for (const [i, id] of asked.entries()) t.same(many[i], await messages.findWithStamp(id), `answer ${i} is what the single read answers`)
  t.equal(many[0]?.message.id, ids[0])
  t.ok(many[0]?.stamp, 'a connected client\'s stamp')
  t.match(many[0]?.recipientDnd, { locationId: 'loc-read', contactId: 'read-opted-out', smsDnd: true })
  t.equal(many[2]?.stamp, null, 'a client that never connected has none')
  t.equal(many[3]?.recipientDnd, null)
  t.same(await messages.findWithStampMany([...asked].reverse()), [...many].reverse(), 'the same answers whatever the order')
  t.same(await messages.findWithStampMany([ids[0]!, ids[0]!]), [many[0], many[0]], 'an id asked twice is answered twice')
})

t.test('two processes\' groups holding the same messages in opposite orders do not deadlock: one writes them, the other is refused', async (t) => {
  const messages = new SmsMessagesRepository(db.db)
  const queued = async () => (await messages.insertOnce({ clientId: 'group-order', integrationId: null, idempotencyKey: null, to: { contactId: 'c' }, body: 'b' })).message.id
  const [a, b] = [await queued(), await queued()]
  // A table of some size, as in production: PostgreSQL then walks the group's ids in their order
  // (a nested loop over the pk), where on a handful of rows it would scan the table in its own.
  await db.sql`insert into sms_messages (client_id, contact_id, body, status) select 'group-filler', 'c', 'b', 'sent' from generate_series(1, 5000)`
  await db.sql`analyze sms_messages`
  const attempt = (id: string) => ({ id, attemptId: crypto.randomUUID(), contactId: 'c', startedAt: new Date() })
  await slowRows(t, 'update', 'group-order')
  const answers = await Promise.allSettled([
    messages.markSendingMany([attempt(a), attempt(b)]),
    messages.markSendingMany([attempt(b), attempt(a)]),
  ])
  t.same(answers.map((r) => r.status), ['fulfilled', 'fulfilled'], `neither group failed (${answers.map((r) => r.status === 'rejected' ? String(r.reason) : 'ok').join('; ')})`)
  const written = answers.map((r) => r.status === 'fulfilled' ? r.value : [])
  t.same(written.map((w) => w.filter(Boolean).length).sort(), [0, 2], 'one group wrote both rows, the other none')
})

t.test('two intake groups holding the same idempotency keys in opposite orders do not deadlock: each key is written once', async (t) => {
  const repo = new IntegrationsRepository(db.db, new TokenCipher([{ id: 'k1', key: randomBytes(32) }]))
  const messages = new SmsMessagesRepository(db.db)
  await repo.replaceActive('insert-order', { locationId: 'loc-insert', userType: 'Location', scopes: [], accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 86_400_000) })
  await slowRows(t, 'insert', 'insert-order')
  const message = (idempotencyKey: string) => ({ id: crypto.randomUUID(), clientId: 'insert-order', idempotencyKey, to: { contactId: 'c' }, body: 'b' })
  const answers = await Promise.allSettled([
    messages.insertManyForConnectedClients([message('key-1'), message('key-2')]),
    messages.insertManyForConnectedClients([message('key-2'), message('key-1')]),
  ])
  t.same(answers.map((r) => r.status), ['fulfilled', 'fulfilled'], `neither group failed (${answers.map((r) => r.status === 'rejected' ? String((r.reason as Error).cause ?? r.reason) : 'ok').join('; ')})`)
  t.equal(answers.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value.size : 0), 0), 2, 'each key written once')
  const [stored] = await db.sql`select count(*)::int as n from sms_messages where client_id = 'insert-order'`
  t.equal(stored!.n, 2)
})

t.test('two batches holding the same idempotency keys in opposite orders do not deadlock: each key is written once', async (t) => {
  const messages = new SmsMessagesRepository(db.db)
  await slowRows(t, 'insert', 'batch-order')
  const message = (idempotencyKey: string) => ({ clientId: 'batch-order', integrationId: null, idempotencyKey, to: { contactId: 'c' }, body: 'b' })
  const answers = await Promise.allSettled([
    messages.insertMany([message('key-1'), message('key-2')]),
    messages.insertMany([message('key-2'), message('key-1')]),
  ])
  t.same(answers.map((r) => r.status), ['fulfilled', 'fulfilled'], `neither batch failed (${answers.map((r) => r.status === 'rejected' ? String((r.reason as Error).cause ?? r.reason) : 'ok').join('; ')})`)
  t.equal(answers.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value.length : 0), 0), 2, 'each key written once')
})
