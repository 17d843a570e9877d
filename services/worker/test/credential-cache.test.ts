/**
 * The worker keeps each client's credential in memory instead of reading and decrypting it from
 * PostgreSQL for every SMS, and the cache is kept honest by the database: the client as stored is
 * read with the outbox row, and `sending` is written only while the integration and token version
 * the credential came from still hold. These tests change the stored connection the way another
 * process does (its refresh write, a disconnect) and look at what HighLevel received.
 */
import t, { type Test } from 'tap'
import { createWorld, eventually, HARBOR, JANE, settled, SUNRISE, type World } from './helper.ts'

type RecordedExchange = World['sandbox']['control']['recorded'][number]

const world = await createWorld(t, {}, { record: true })
const { sandbox, integrations } = world
const worker = await world.startInProcess()

// Counts the reads of a client's integration the worker's send path makes (the TokenService and
// the credentials share this repository object with the rest of the worker's runtime).
let integrationReads = 0
const repository = worker.runtime.integrations
const findForSending = repository.findForSending.bind(repository)
repository.findForSending = async (clientId) => { integrationReads++; return findForSending(clientId) }

t.beforeEach(() => sandbox.control.clearFaults())

const POST_MESSAGE = (e: RecordedExchange) => e.method === 'POST' && e.url === '/conversations/messages'
// Recorded exchanges are redacted (no tokens, no phone numbers): which token a call carried shows
// in whether HighLevel took it (a revoked token gets a 401) or in the location it reached.
const CONTACT_LOOKUP = (e: RecordedExchange) => e.url.startsWith('/contacts')
const since = (mark: number) => sandbox.control.recorded.slice(mark)

/** What another process's refresh leaves behind: a new pair written over the version it read; HighLevel no longer takes the old token. */
async function refreshedElsewhere (clientId: string, locationId: string) {
  const read = (await integrations.findByClient(clientId))!
  sandbox.control.revokeTokens(locationId)
  const answer = sandbox.control.issueTokens({ locationId })
  const written = await integrations.writeTokens(read.id, read.tokenVersion, {
    accessToken: answer.access_token, refreshToken: String(answer.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  })
  if (!written) throw new Error('the other process\'s refresh write did not land')
}

/** Sends one SMS and waits for its outcome, so the client's credential is in the worker's cache. */
async function sentOnce (t: Test, clientId: string, to = { contactId: JANE }) {
  const row = await settled(world, (await world.submit(clientId, to)).id)
  t.equal(row.status, 'sent', 'the first SMS went (and its credential is cached)')
}

/** Resolves once the worker took `messageId`'s rate-limit slot: past its credential, before its POST. */
async function pastItsCredential (messageId: string, locationId: string) {
  await eventually('the job to take its rate-limit slot', async () =>
    (await world.redis.zrange(world.keys.locationRateLog(locationId), 0, -1)).some((m) => m.startsWith(`${messageId}#`)) || undefined)
}

t.test('a token another process refreshed (its predecessor revoked) is the one the next SMS is POSTed with: HighLevel answers no 401', async (t) => {
  await world.connect('refreshed-elsewhere', { locationId: SUNRISE })
  await sentOnce(t, 'refreshed-elsewhere')
  await refreshedElsewhere('refreshed-elsewhere', SUNRISE)
  const mark = sandbox.control.recorded.length
  const row = await settled(world, (await world.submit('refreshed-elsewhere', { contactId: JANE }, 'With the new token')).id)
  t.match(row, { status: 'sent', attempts: 1 })
  t.equal(since(mark).filter(POST_MESSAGE).length, 1, 'one POST, taken: the location\'s only live token is the new one')
  // The send's own calls: the worker's gap filler may ask HighLevel for the location's messages
  // meanwhile, and a call of its that started before the refresh above carries the revoked token.
  t.same(since(mark).filter((e) => e.response.status === 401 && (POST_MESSAGE(e) || CONTACT_LOOKUP(e))).map((e) => e.url), [], 'no 401')
  t.equal(sandbox.control.messages(SUNRISE).filter((m) => m.body === 'With the new token').length, 1)
})

t.test('a client disconnected after its credential was cached: its next SMS fails not_connected, and HighLevel hears nothing', async (t) => {
  await world.connect('left-after-caching', { locationId: SUNRISE })
  await sentOnce(t, 'left-after-caching')
  await integrations.deactivate('left-after-caching')
  const mark = sandbox.control.recorded.length
  // To a phone number: even the contact lookup would be a call with the disconnected client's token (HighLevel still takes it).
  const { message } = await world.messages.insertOnce({ clientId: 'left-after-caching', integrationId: null, idempotencyKey: null, to: { phone: '+15557770101' }, body: 'Never sent' })
  await world.dispatcher.enqueue(message)
  const row = await settled(world, message.id)
  t.match(row, { status: 'failed', errorCode: 'not_connected', errorMessage: /Please connect your GoHighLevel account first/ })
  t.same(since(mark).filter(CONTACT_LOOKUP).map((e) => e.url), [], 'no contact lookup')
  t.same(since(mark).filter(POST_MESSAGE).map((e) => e.url), [], '0 POSTs')
  t.same(sandbox.control.messages().filter((m) => m.body === 'Never sent'), [])
})

t.test('a client reconnected to another location while its recipient is looked up: the sending write refuses the old credential, the job reads again and sends through the new connection', async (t) => {
  await world.connect('moved-mid-job', { locationId: HARBOR })
  await sentOnce(t, 'moved-mid-job', { contactId: 'sbxContact0000000003' })
  sandbox.control.setFaults({ latencyMs: 1500 }, HARBOR)
  const mark = sandbox.control.recorded.length
  const message = await world.submit('moved-mid-job', { phone: '+15550100002' }, 'Moved mid-job')
  await pastItsCredential(message.id, HARBOR)
  // The old connection's token still works at HighLevel: only the sending write can tell the job.
  await world.connect('moved-mid-job', { locationId: SUNRISE })
  const row = await settled(world, message.id)
  t.match(row, { status: 'sent', attempts: 1 })
  t.equal(since(mark).filter(POST_MESSAGE).length, 1, 'one POST')
  t.same(sandbox.control.messages(HARBOR).filter((m) => m.body === 'Moved mid-job'), [], 'nothing through the old connection')
  t.equal(sandbox.control.messages(SUNRISE).filter((m) => m.body === 'Moved mid-job').length, 1, 'sent through the new one')
})

t.test('a client disconnected while its recipient is looked up: failed not_connected, nothing POSTed', async (t) => {
  await world.connect('left-mid-job', { locationId: HARBOR })
  await sentOnce(t, 'left-mid-job', { contactId: 'sbxContact0000000003' })
  sandbox.control.setFaults({ latencyMs: 1500 }, HARBOR)
  const mark = sandbox.control.recorded.length
  const message = await world.submit('left-mid-job', { phone: '+15557770103' }, 'Left mid-job')
  await pastItsCredential(message.id, HARBOR)
  await integrations.deactivate('left-mid-job')
  const row = await settled(world, message.id)
  t.match(row, { status: 'failed', errorCode: 'not_connected' })
  t.same(since(mark).filter(POST_MESSAGE), [], '0 POSTs')
})

t.test('a cached credential saves the read: ten SMS of one client read its integration once', async (t) => {
  await world.connect('busy', { locationId: SUNRISE })
  const lookups = async () => Object.fromEntries((await worker.runtime.metrics.credentialLookups.get()).values.map((v) => [v.labels.result, v.value]))
  const reads = integrationReads
  const before = await lookups()
  for (let i = 0; i < 10; i++) {
    const row = await settled(world, (await world.submit('busy', { contactId: JANE }, `Busy ${i}`)).id)
    t.equal(row.status, 'sent')
  }
  t.equal(integrationReads - reads, 1, 'one read for ten SMS')
  const after = await lookups()
  t.same({ cached: (after.cached ?? 0) - (before.cached ?? 0), read: (after.read ?? 0) - (before.read ?? 0) }, { cached: 9, read: 1 },
    'ghl_connect_credential_lookups_total says so')
})

t.test('the sweep\'s refresh in this process hands its new token to the cache: the next SMS reads nothing', async (t) => {
  await world.connect('swept', { locationId: SUNRISE })
  // Inside the sweep's horizon (10 minutes), outside the sending path's refresh window (5).
  await world.db.sql`update ghl_integrations set expires_at = now() + interval '8 minutes' where client_id = 'swept' and is_active`
  await sentOnce(t, 'swept')
  const { tokenVersion } = (await integrations.findByClient('swept'))!
  const reads = integrationReads
  t.equal(await worker.runtime.tokenRefresher.refresh('swept'), 'refreshed')
  t.equal((await integrations.findByClient('swept'))!.tokenVersion, tokenVersion + 1, 'a new token was written')
  const row = await settled(world, (await world.submit('swept', { contactId: JANE }, 'After the sweep')).id)
  t.equal(row.status, 'sent')
  t.equal(integrationReads - reads, 0, 'the refreshed credential came from the cache')
  t.equal(sandbox.control.messages(SUNRISE).filter((m) => m.body === 'After the sweep').length, 1)
})

t.test('a token made due in the database without a new one (an operator, a drill): the next SMS refreshes it instead of using the cached copy', async (t) => {
  await world.connect('made-due', { locationId: SUNRISE })
  await sentOnce(t, 'made-due')
  const { tokenVersion } = (await integrations.findByClient('made-due'))!
  await world.db.sql`update ghl_integrations set expires_at = now() - interval '1 second' where client_id = 'made-due' and is_active`
  const refreshes = sandbox.control.stats().refreshes
  const row = await settled(world, (await world.submit('made-due', { contactId: JANE }, 'After it was made due')).id)
  t.equal(row.status, 'sent')
  t.equal(sandbox.control.stats().refreshes - refreshes, 1, 'refreshed once before the POST')
  t.equal((await integrations.findByClient('made-due'))!.tokenVersion, tokenVersion + 1, 'and the new token written')
})
