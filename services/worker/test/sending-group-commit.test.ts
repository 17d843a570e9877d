import t from 'tap'
import { sql } from '@ghl-connect/db'
import { jobIds } from '@ghl-connect/queues'
import { createWorld, eventually, JANE, settled, SUNRISE } from './helper.ts'

// Twenty jobs at once, the location's budget lifted: they reach their `sending` writes together and can share a statement.
const world = await createWorld(t, { GHL_RATE_LIMIT_MAX: '100000', WORKER_CONCURRENCY: '20' }, { record: true })
const { sandbox } = world
await world.connect('clinic', { locationId: SUNRISE })

// Each `queued -> sending` write PostgreSQL is asked to make, with the transaction that made it (a
// later `sent` write replaces a row's xmin, so it is kept here). A row whose body starts with
// "Unwritable" is not written at that moment (a trigger returning null: absent from the
// statement's answer, as a row moved on under the statement is); one starting with "Broken" fails
// the whole statement.
await world.db.db.execute(sql.raw(`
  create table sending_writes (id uuid, tx bigint, written boolean);
  create function watch_sending() returns trigger language plpgsql as $$ begin
    if new.body like 'Broken%' then raise exception 'sending writes refused by the test'; end if;
    insert into sending_writes values (new.id, txid_current(), new.body not like 'Unwritable%');
    if new.body like 'Unwritable%' then return null; end if;
    return new;
  end $$;
  create trigger watch_sending before update on sms_messages for each row
    when (old.status = 'queued' and new.status = 'sending') execute function watch_sending();`))
const worker = await world.startInProcess()
// The first reads are not writes (no transaction id to see): the worker's repository counts its statements and the ids each carried.
const firstReads: string[][] = []
const repository = worker.runtime.smsMessages
const findWithStampMany = repository.findWithStampMany.bind(repository)
repository.findWithStampMany = async (ids) => { firstReads.push(ids); return findWithStampMany(ids) }

const postedWith = (body: string) => sandbox.control.messages().filter((m) => m.body === body)
const writesOf = async (ids: string[]) => world.db.db.execute<{ id: string, tx: string, written: boolean }>(
  sql`select id, tx::text as tx, written from sending_writes where id in (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)})`)

t.test('SMS starting together share their first read and their sending write: each POSTed once, in fewer statements than SMS', async (t) => {
  firstReads.length = 0
  const submitted = await Promise.all(Array.from({ length: 60 }, (_, i) => world.submit('clinic', { contactId: JANE }, `Together ${i}`)))
  const rows = await Promise.all(submitted.map((m) => settled(world, m.id)))
  for (const [i, row] of rows.entries()) {
    const posted = postedWith(`Together ${i}`)
    if (row.status !== 'sent' || posted.length !== 1 || row.ghlMessageId !== posted[0]!.messageId) t.fail(`message ${i}: ${row.status}, posted ${posted.length} times`)
  }
  const writes = await writesOf(submitted.map((m) => m.id))
  t.equal(writes.length, 60, 'one sending write per SMS')
  const statements = new Set(writes.map((w) => w.tx)).size
  t.ok(statements < rows.length / 2, `60 sending writes in ${statements} transactions`)
  const ids = new Set(submitted.map((m) => m.id))
  const reads = firstReads.filter((group) => group.some((id) => ids.has(id)))
  t.same(new Set(reads.flat()), ids, 'every job\'s first read went through a group')
  t.ok(reads.length < rows.length / 2, `60 first reads in ${reads.length} statements`)
})

t.test('a row of a group not written: only its job leaves without POSTing, every other job of the group POSTs once', async (t) => {
  const bodies = Array.from({ length: 20 }, (_, i) => i % 5 === 2 ? `Unwritable ${i}` : `Beside ${i}`)
  const submitted = await Promise.all(bodies.map((body) => world.submit('clinic', { contactId: JANE }, body)))
  await eventually('every job to end', async () => {
    const states = await Promise.all(submitted.map((m) => world.dispatcher.jobState(m.id)))
    return states.every((s) => s === 'completed') ? true : undefined
  })
  const writes = await writesOf(submitted.map((m) => m.id))
  for (const [i, m] of submitted.entries()) {
    const row = await world.messages.findById(m.id)
    if (bodies[i]!.startsWith('Unwritable')) {
      t.equal(postedWith(bodies[i]!).length, 0, `${bodies[i]}: not POSTed`)
      t.match(row, { status: 'queued', attemptId: null, attempts: 0 }, `${bodies[i]}: left as it was`)
    } else {
      t.equal(postedWith(bodies[i]!).length, 1, `${bodies[i]}: POSTed once`)
      t.equal(row?.status, 'sent', `${bodies[i]}: sent`)
    }
  }
  // The refused rows were in statements that wrote other rows: the answer was told per row, not per statement.
  const writtenIn = new Set(writes.filter((w) => w.written).map((w) => w.tx))
  const sharing = writes.filter((w) => !w.written && writtenIn.has(w.tx))
  t.ok(sharing.length > 0, `${sharing.length} of the 4 refused rows shared their statement with rows it wrote`)
})

t.test('a group whose sending write fails: each of its jobs fails as a lone failed write did, nothing POSTed, its row still queued', async (t) => {
  const submitted = await Promise.all(Array.from({ length: 10 }, (_, i) => world.submit('clinic', { contactId: JANE }, `Broken ${i}`)))
  await eventually('every job to fail', async () => {
    const states = await Promise.all(submitted.map((m) => world.dispatcher.jobState(m.id)))
    return states.every((s) => s === 'failed') ? true : undefined
  })
  for (const [i, m] of submitted.entries()) {
    t.equal(postedWith(`Broken ${i}`).length, 0, `message ${i}: nothing POSTed`)
    t.match(await world.messages.findById(m.id), { status: 'queued', attemptId: null, attempts: 0 }, `message ${i}: queued, for the reconciler to queue again`)
    const job = await world.queues.sms.getJob(jobIds.smsSend(m.id))
    t.match(job?.failedReason, /^Failed query: update "sms_messages" set "status"/, `message ${i}: its job failed with the sending write's error`)
  }
})
