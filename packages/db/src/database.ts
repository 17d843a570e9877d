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

export function createDatabase (opts: { url: string, poolSize?: number }): DatabaseHandle {
  const sql = postgres(opts.url, {
    max: opts.poolSize ?? 10,
    onnotice: () => {},
    // A dead server must surface as an error the API maps to 503, not as a hang.
    connect_timeout: 5,
  })
  return { db: drizzle(sql, { schema }), sql, close: () => sql.end({ timeout: 5 }) }
}
