import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import * as schema from './schema/index.ts'

export type Database = PostgresJsDatabase<typeof schema>
/** A transaction a repository method can join, so a change and what it reports commit together. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0]

export interface DatabaseHandle {
  db: Database
  sql: postgres.Sql
  close: () => Promise<void>
}

export interface DatabaseOptions {
  url: string
  poolSize?: number
  /**
   * The URL is a transaction pooler (PgBouncer, pool_mode=transaction), which lends a server
   * connection per transaction: no statement may count on what an earlier one left on its
   * connection. Named prepared statements would (postgres.js prepares each query once per
   * connection), so they are off; each query is parsed again, a round trip more per query.
   * Everything else we run holds no session state (advisory locks are transaction-scoped,
   * no SET, LISTEN or temporary tables), which the pgbouncer test target checks.
   */
  transactionPooler?: boolean
}

export function createDatabase (opts: DatabaseOptions): DatabaseHandle {
  const sql = postgres(opts.url, {
    max: opts.poolSize ?? 10,
    prepare: !opts.transactionPooler,
    onnotice: () => {},
    // A dead server must surface as an error the API maps to 503, not as a hang.
    connect_timeout: 5,
  })
  return { db: drizzle(sql, { schema }), sql, close: () => sql.end({ timeout: 5 }) }
}
