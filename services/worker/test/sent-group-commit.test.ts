import t from 'tap'
import { sql } from '@ghl-connect/db'
import { createWorld, eventually, JANE, settled, SUNRISE } from './helper.ts'

// Twenty jobs at once, the location's budget lifted: their POSTs end together and their `sent` writes can share a statement.
const world = await createWorld(t, { GHL_RATE_LIMIT_MAX: '100000', WORKER_CONCURRENCY: '20' }, { record: true })
const { sandbox } = world
await world.connect('clinic', { locationId: SUNRISE })
await world.startInProcess()

const sentWith = (body: string) => sandbox.control.messages().filter((m) => m.body === body)

t.test('SMS finishing together share their sent write: each recorded once with its own HighLevel ids', async (t) => {
  const submitted = await Promise.all(Array.from({ length: 60 }, (_, i) => world.submit('clinic', { contactId: JANE }, `Grouped ${i}`)))
  const rows = await Promise.all(submitted.map((m) => settled(world, m.id)))
  for (const [i, row] of rows.entries()) {
    const posted = sentWith(`Grouped ${i}`)
    if (row.status !== 'sent' || posted.length !== 1 || row.ghlMessageId !== posted[0]!.messageId) t.fail(`message ${i}: ${row.status}, posted ${posted.length} times`)
  }
  // Rows written by one transaction carry its id (xmin); a write per SMS would give each its own.
  const ids = sql.join(submitted.map((m) => sql`${m.id}::uuid`), sql`, `)
  const [writes] = await world.db.db.execute<{ n: string }>(sql`select count(distinct xmin::text) as n from sms_messages where id in (${ids})`)
  t.ok(Number(writes!.n) < rows.length / 2, `60 rows in ${writes!.n} writes`)
  // The client's backlog counter, settled in groups too, is back to nothing: every SMS left it once.
  await eventually('the client\'s backlog to be settled', async () => await world.redis.exists(world.keys.smsBacklog('clinic')) === 0 ? true : undefined)
})

t.test('a group whose sent write fails: no job ends as sent without its row, each is recorded once PostgreSQL takes it, none sent twice', async (t) => {
  // PostgreSQL refuses every `sent` write (and counts the refusals: a sequence is not rolled back) until the trigger goes.
  await world.db.db.execute(sql.raw(`
    create sequence sent_write_refusals;
    create function refuse_sent() returns trigger language plpgsql as $$ begin perform nextval('sent_write_refusals'); raise exception 'sent writes refused by the test'; end $$;
    create trigger refuse_sent before update on sms_messages for each row when (new.status = 'sent') execute function refuse_sent();`))
  const refusals = async () => {
    const [row] = await world.db.db.execute<{ last_value: string, is_called: boolean }>(sql`select last_value, is_called from sent_write_refusals`)
    return row!.is_called ? Number(row!.last_value) : 0
  }
  const submitted = await Promise.all(Array.from({ length: 10 }, (_, i) => world.submit('clinic', { contactId: JANE }, `Refused ${i}`)))
  await eventually('every SMS to be posted and its sent write refused', async () =>
    submitted.every((_, i) => sentWith(`Refused ${i}`).length === 1) && await refusals() >= 10 ? true : undefined)
  for (const m of submitted) {
    const row = await world.messages.findById(m.id)
    t.equal(row?.status, 'sending', 'the row is still sending')
    t.equal(await world.dispatcher.jobState(m.id), 'pending', 'its job is still running: not completed as sent')
  }
  await world.db.db.execute(sql.raw('drop trigger refuse_sent on sms_messages'))
  const rows = await Promise.all(submitted.map((m) => settled(world, m.id, 30_000)))
  for (const [i, row] of rows.entries()) {
    const posted = sentWith(`Refused ${i}`)
    t.equal(posted.length, 1, `message ${i} posted once`)
    t.match(row, { status: 'sent', ghlMessageId: posted[0]!.messageId, attempts: 1 }, `message ${i} recorded sent with its ids`)
  }
})
