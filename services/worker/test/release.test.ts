/**
 * The release check (scheduled time, quiet hours) reads a client's settings at most once a second
 * per process, and jobs of one client starting together share that read: a busy client's wave of
 * jobs is one PostgreSQL read, not one per job.
 */
import t from 'tap'
import { ClientSettingsRepository, createDatabase, SmsMessagesRepository } from '@ghl-connect/db'
import { createTestDatabase } from '@ghl-connect/testing'
import { SmsRelease } from '../src/sms/release.ts'

const db = await createTestDatabase()
const handle = createDatabase({ url: db.url, poolSize: 4 })
t.teardown(async () => { await handle.close(); await db.drop() })
const stored = new ClientSettingsRepository(handle.db)
const messages = new SmsMessagesRepository(handle.db)

/** The real repository, counting the reads the release makes of it. */
function counted () {
  const reads = { n: 0 }
  return { reads, settings: { find: async (clientId: string) => { reads.n++; return stored.find(clientId) } } }
}

t.test('50 jobs of one client at once: one settings read, every job answered by it', async (t) => {
  await stored.put('client-busy', { quietHours: null, defaultFromNumber: null })
  const { reads, settings } = counted()
  const release = new SmsRelease(settings, messages)
  const now = new Date()
  const waits = await Promise.all(Array.from({ length: 50 }, (_, i) => release.waitMs({ id: `m${i}`, clientId: 'client-busy', sendAt: null }, now)))
  t.same(waits, Array(50).fill(0), 'no quiet hours: every job goes now')
  t.equal(reads.n, 1)
  await release.waitMs({ id: 'later', clientId: 'client-busy', sendAt: null }, new Date(now.getTime() + 1500))
  t.equal(reads.n, 2, 'read again once the second has passed')
})

t.test('a failed read is not kept: the next job reads again', async (t) => {
  let fail = true
  const release = new SmsRelease({ find: async (clientId) => { if (fail) { fail = false; throw new Error('connection lost') } return stored.find(clientId) } }, messages)
  const now = new Date()
  await t.rejects(release.waitMs({ id: 'a', clientId: 'client-flaky', sendAt: null }, now), /connection lost/)
  t.equal(await release.waitMs({ id: 'b', clientId: 'client-flaky', sendAt: null }, now), 0)
})
