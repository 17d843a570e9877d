/**
 * Test fixtures for what this package owns: a fresh migrated database and a random encryption key.
 * A subpath of its own (`@ghl-connect/db/testing`) so db's tests need no test package that depends
 * on db; `@ghl-connect/testing` re-exports it for everyone else.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { createDatabase, type DatabaseHandle } from './database.ts'
import { migrateDatabase, migrationsFolder } from './migrate.ts'

/** The server tests create their databases on; CI and this machine run PostgreSQL here. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
/**
 * A transaction pooler (PgBouncer, pool_mode=transaction) in front of that server, set by the
 * pgbouncer test target (scripts/test-pgbouncer.mjs): each file's database is still created and
 * dropped on the server itself, and everything else (migrations, repositories, the processes a
 * test starts with its `url`) goes through the pooler.
 */
export const TEST_PGBOUNCER_URL = process.env.TEST_PGBOUNCER_URL || undefined

export interface TestDatabase extends DatabaseHandle {
  url: string
  name: string
  /** Closes the pool and drops the database. */
  drop: () => Promise<void>
  /**
   * false: PostgreSQL is "down" for this database (new connections refused, open sessions ended),
   * as during a restart, without touching the other test files' databases. true: back.
   */
  setReachable: (reachable: boolean) => Promise<void>
}

/** A fresh database per test file, so files run in parallel without seeing each other's rows. */
export async function createTestDatabase (opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `ghl_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  // Through a pooler each file still migrates its own database: that is part of what the target tests.
  const fromTemplate = opts.migrate !== false && TEST_PGBOUNCER_URL === undefined
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} })
  try {
    const template = fromTemplate ? await migratedTemplate(admin) : undefined
    await admin.unsafe(template ? `create database ${name} template ${template}` : `create database ${name}`)
  } finally {
    await admin.end({ timeout: 1 })
  }
  const url = new URL(TEST_PGBOUNCER_URL ?? TEST_POSTGRES_URL)
  url.pathname = `/${name}`
  if (opts.migrate !== false && !fromTemplate) await migrateDatabase(url.toString())
  const handle = createDatabase({ url: url.toString(), poolSize: 10, transactionPooler: TEST_PGBOUNCER_URL !== undefined })
  const asAdmin = async (work: (sql: postgres.Sql) => Promise<unknown>) => {
    const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} })
    try { await work(sql) } finally { await sql.end({ timeout: 1 }) }
  }
  return {
    ...handle,
    url: url.toString(),
    name,
    setReachable: (reachable) => asAdmin(async (sql) => {
      await sql.unsafe(`alter database ${name} with allow_connections ${reachable}`)
      if (!reachable) await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`
    }),
    drop: async () => {
      await handle.close()
      const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} })
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await sql.end({ timeout: 1 })
      }
    },
  }
}

/**
 * A database with every committed migration applied, made once per set of migrations (its name
 * carries their digest) and copied for each test database: a copy takes a fraction of the time the
 * migrations take, and a suite creates hundreds. The advisory lock lets one process of the many a
 * test run starts build it; the others wait and copy. Built under a name of its own, then renamed,
 * so a half-built one (a process killed while migrating) is never copied.
 */
async function migratedTemplate (admin: postgres.Sql): Promise<string> {
  const name = `ghl_template_${migrationsDigest()}`
  const [lock] = await admin`select pg_advisory_lock(4207002) as locked`
  try {
    if (lock && (await admin`select 1 from pg_database where datname = ${name}`).length > 0) return name
    const building = `${name}_building_${randomBytes(3).toString('hex')}`
    await admin.unsafe(`create database ${building}`)
    const url = new URL(TEST_POSTGRES_URL)
    url.pathname = `/${building}`
    await migrateDatabase(url.toString())
    // The migration's connection may still be closing on the server: RENAME needs it gone.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`alter database ${building} rename to ${name}`)
        return name
      } catch (err) {
        if ((err as { code?: string }).code !== '55006' || attempt === 50) throw err // object_in_use
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  } finally {
    await admin`select pg_advisory_unlock(4207002)`
  }
}

let digest: string | undefined
/** Of the migrations' SQL and Drizzle's journal: a changed or added migration makes a new template. */
function migrationsDigest (): string {
  if (digest) return digest
  const hash = createHash('sha256')
  const files = [...readdirSync(migrationsFolder).filter((f) => f.endsWith('.sql')).sort(), join('meta', '_journal.json')]
  for (const file of files) hash.update(file).update(readFileSync(join(migrationsFolder, file)))
  digest = hash.digest('hex').slice(0, 16)
  return digest
}

/** A `TOKEN_ENCRYPTION_KEYS` entry (`<keyId>:<base64 of 32 bytes>`) the TokenCipher accepts. */
export function randomEncryptionKey (id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`
}
