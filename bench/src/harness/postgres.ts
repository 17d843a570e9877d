/**
 * A throwaway PostgreSQL: initdb in a temporary folder, on a spare loopback port, so a drill can
 * stop, restart or kill it without touching any other database on the machine. initdb refuses
 * to run as root; as root the server runs as the `postgres` system user (it owns the folder).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { freePort } from '@ghl-connect/testing'
import { waitFor } from './ports.ts'

export function binDir (): string {
  if (process.env.PG_BIN) return process.env.PG_BIN
  const found = spawnSync('bash', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).stdout.trim()
  if (found) return found.replace(/\/pg_ctl$/, '')
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_ctl'))) return join(root, v, 'bin')
  throw new Error('PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL 15 or set PG_BIN')
}

export interface ThrowawayPostgres {
  url: string
  port: number
  stop: () => void
  start: () => Promise<void>
  destroy: () => void
}

/** `statementStats`: load pg_stat_statements (the round-trip count reads it; off otherwise, as its bookkeeping costs a little). */
export async function startPostgres (root: string, database = 'ghl_bench', opts: { statementStats?: boolean } = {}): Promise<ThrowawayPostgres> {
  const bin = binDir()
  const dataDir = join(root, 'pgdata')
  const socketDir = join(root, 'pgsock')
  mkdirSync(socketDir, { recursive: true })
  const asRoot = process.getuid?.() === 0
  const run = (tool: string, args: string[]) => {
    const cmd = join(bin, tool)
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  }
  if (asRoot) {
    chownSync(root, uidOf('postgres'), gidOf('postgres'))
    chownSync(socketDir, uidOf('postgres'), gidOf('postgres'))
  }
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
  const port = await freePort()
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB${opts.statementStats ? ' -c shared_preload_libraries=pg_stat_statements' : ''}`
  const start = async () => {
    run('pg_ctl', ['-D', dataDir, '-o', options, '-l', join(root, 'postgres.log'), '-w', '-t', '60', 'start'])
    await waitFor('PostgreSQL to accept connections', async () => {
      const sql = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {}, connect_timeout: 2 })
      try { await sql`select 1`; return true } finally { await sql.end({ timeout: 1 }) }
    })
  }
  const stop = () => { run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']) }
  await start()
  const admin = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${database}`)
  await admin.end({ timeout: 1 })
  if (opts.statementStats) {
    const db = postgres(`postgres://postgres@127.0.0.1:${port}/${database}`, { max: 1, onnotice: () => {} })
    await db`create extension if not exists pg_stat_statements`
    await db.end({ timeout: 1 })
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    stop,
    start,
    destroy: () => { try { run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']) } catch { /* already stopped */ } },
  }
}

const idOf = (flag: '-u' | '-g', user: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim())
const uidOf = (user: string) => idOf('-u', user)
const gidOf = (user: string) => idOf('-g', user)
