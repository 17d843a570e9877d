/**
 * The private PgBouncer of the pgbouncer test target really is a transaction pooler: session state
 * is lost between transactions there, so a regression (a session advisory lock, a named prepared
 * statement) fails the target, while our database handle works through it.
 * Server connections are lent most-recently-released first: a statement outside a transaction
 * runs on server connection S1; a transaction from another client then takes S1, so the first
 * client's next statement gets another server connection.
 */
import t from 'tap'
import postgres from 'postgres'
import { createDatabase } from '@ghl-connect/db'
import { createTestDatabase, pooledUrl, startPgBouncer, TEST_POSTGRES_URL } from '../src/index.ts'

const pooler = await startPgBouncer({ postgresUrl: TEST_POSTGRES_URL })
t.teardown(() => pooler.stop())
const database = await createTestDatabase({ migrate: false })
t.teardown(() => database.drop())
const url = pooledUrl(pooler.url, database.name)

/** Runs `next` on the first client while a second client's open transaction holds the server connection the first one just used. */
async function afterAnotherTakesItsConnection<T> (next: () => Promise<T>): Promise<T> {
  const other = postgres(url, { max: 1, onnotice: () => {} })
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let taken!: () => void
  const holding = new Promise<void>((resolve) => { taken = resolve })
  const otherTx = other.begin(async (tx) => { await tx`select 1`; taken(); await held })
  await holding
  try {
    return await next()
  } finally {
    release()
    await otherTx
    await other.end({ timeout: 1 })
  }
}

t.test('through the pooler a session advisory lock is not held for the next statement (so migrations take a transaction lock)', async (t) => {
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} })
  t.teardown(() => sql.end({ timeout: 1 }))
  const [locked] = await sql`select pg_advisory_lock(4242) is not null as ok`
  t.ok(locked!.ok)
  const [unlocked] = await afterAnotherTakesItsConnection(() => sql`select pg_advisory_unlock(4242) as released`)
  t.equal(unlocked!.released, false, 'the unlock ran on another server connection, which does not hold the lock')
})

t.test('through the pooler a named prepared statement is missing inside a later transaction', async (t) => {
  const sql = postgres(url, { max: 1, prepare: true, onnotice: () => {} })
  t.teardown(() => sql.end({ timeout: 1 }))
  await sql`select ${1}::int as n`
  await t.rejects(afterAnotherTakesItsConnection(() => sql.begin((tx) => tx`select ${2}::int as n`)),
    'the statement prepared on one server connection does not exist on the next')
})

t.test('our database handle as DATABASE_TRANSACTION_POOLER=true makes it (unnamed statements; transaction-scoped locks) works through the pooler in the same sequence', async (t) => {
  const handle = createDatabase({ url, poolSize: 1, transactionPooler: true })
  t.teardown(() => handle.close())
  await handle.sql`select ${1}::int as n`
  const [row] = await afterAnotherTakesItsConnection(() => handle.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(4243)`
    return tx`select ${2}::int as n`
  }))
  t.equal(row!.n, 2)
})
