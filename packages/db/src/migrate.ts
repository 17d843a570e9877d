import { fileURLToPath } from 'node:url'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'

// dist/ (the built db CLI, scripts/build.mjs) sits beside src/: this resolves alike from both
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url))

/** Creates the database named in the URL when the server lacks it, so a first run needs no manual step. */
export async function ensureDatabaseExists (url: string): Promise<boolean> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''))
  if (!name) return false
  const probe = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    await probe`select 1`
    return false
  } catch (err) {
    if (!databaseMissing(err)) throw err
  } finally {
    await probe.end({ timeout: 1 })
  }
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`)
  } catch (err) {
    // created by a concurrent run: 42P04 duplicate_database, or 23505 when both inserted into pg_database at once
    const code = (err as { code?: string }).code
    if (code !== '42P04' && code !== '23505') throw err
  } finally {
    await sql.end({ timeout: 1 })
  }
  return true
}

/** PostgreSQL's invalid_catalog_name, or PgBouncer's protocol error saying the same. */
function databaseMissing (err: unknown): boolean {
  const { code, message } = err as { code?: string, message?: string }
  return code === '3D000' || (code === '08P01' && message?.endsWith('does not exist') === true)
}

export interface MigrateOptions {
  /** What a migration says of what it changed (its RAISE NOTICE lines; counts, never personal data). */
  onNotice?: (message: string) => void
  /** Another folder of migrations (a test applies those before one migration, then that one). */
  migrationsFolder?: string
}

/**
 * Applies the committed migrations. Drizzle records what it applied, so a second run changes
 * nothing; the advisory lock keeps two starting processes from migrating at once. The lock is
 * transaction-scoped and everything runs in that one transaction, so it works through a
 * transaction pooler (PgBouncer) too: a session lock there could be taken on one server connection
 * and never released from another.
 */
export async function migrateDatabase (url: string, opts: MigrateOptions = {}): Promise<void> {
  await ensureDatabaseExists(url)
  // Only our migrations' own notices (code 00000); PostgreSQL's "already exists, skipping" is noise.
  const onnotice = (notice: { code?: string, message?: string }) => {
    if (notice.code === '00000' && notice.message) opts.onNotice?.(notice.message)
  }
  // unnamed statements: a transaction pooler in front of the server needs them, and migrations run once
  const sql = postgres(url, { max: 1, prepare: false, onnotice, connect_timeout: 5 })
  try {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(4207001)`
      // Drizzle's migrator opens its own transaction: inside ours it becomes a savepoint.
      const client = Object.assign(tx, { options: sql.options, begin: tx.savepoint }) as unknown as postgres.Sql
      await migrate(drizzle(client), { migrationsFolder: opts.migrationsFolder ?? migrationsFolder })
    })
  } finally {
    await sql.end({ timeout: 5 })
  }
}
