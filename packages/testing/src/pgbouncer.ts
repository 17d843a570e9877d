/**
 * A private PgBouncer (Debian's `pgbouncer`) in transaction mode in front of the tests' PostgreSQL,
 * on a free loopback port: the pgbouncer test target (scripts/test-pgbouncer.mjs) runs the
 * repositories and the intake/send path through it, as a deployment behind a transaction pooler
 * does. In transaction mode a server connection is lent for one transaction (or one statement
 * outside a transaction), so any session state (a named prepared statement, a session advisory
 * lock, a SET, a LISTEN) lands on a connection the next statement may not get.
 */
import { spawn, execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from './eventually.ts'
import { freePort } from './ports.ts'

const PROGRAM = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p)) ?? 'pgbouncer'

export interface StartedPgBouncer {
  /** `postgres://user@127.0.0.1:port/` — put a database name after it. */
  url: string
  port: number
  /** What pgbouncer printed (its log), for a failure message. */
  output: () => string
  stop: () => Promise<void>
}

/**
 * Starts pgbouncer for every database of `postgresUrl`'s server (a `*` wildcard), with trust
 * authentication for its user. `poolSize`: server connections per database.
 */
export async function startPgBouncer (opts: { postgresUrl: string, poolSize?: number }): Promise<StartedPgBouncer> {
  const server = new URL(opts.postgresUrl)
  const user = decodeURIComponent(server.username || 'postgres')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'ghl-pgbouncer-'))
  chmodSync(dir, 0o755)
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`)
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    "unix_socket_dir = ''",
    'auth_type = trust',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${opts.poolSize ?? 8}`,
    'max_client_conn = 2000',
    // test files drop their databases: idle server connections to them go soon
    'server_idle_timeout = 5',
    'server_lifetime = 60',
    // after a failed server login (a database not created yet) PgBouncer waits this long before the next
    'server_login_retry = 1',
    // PgBouncer 1.21+ could keep protocol-level prepared statements; none here, so one would fail
    ...(supportsPreparedStatements() ? ['max_prepared_statements = 0'] : []),
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n'))
  // pgbouncer refuses to run as root; Debian's package runs it as postgres
  const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : []
  const child = spawn(PROGRAM, [...asUser, join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let ended: string | undefined
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  child.once('error', (err) => { ended = `could not run ${PROGRAM} (${err.message}): install it (apt-get install pgbouncer)` })
  child.once('exit', (code, signal) => { ended ??= `pgbouncer ended (${signal ?? `exit code ${code}`}): ${output.trim().split('\n').slice(-3).join(' | ')}` })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGINT') // pgbouncer: SIGINT is a safe shutdown
      await gone
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await eventually('pgbouncer listening', async () => {
      if (ended) throw new Error(ended)
      return await listening(port)
    }, 20_000)
  } catch (err) {
    await stop()
    throw err
  }
  return { url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/`, port, output: () => output, stop }
}

/** The `DATABASE_URL` for `database` through the pooler. */
export function pooledUrl (pooler: string, database: string): string {
  const url = new URL(pooler)
  url.pathname = `/${database}`
  return url.toString()
}

function listening (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

function supportsPreparedStatements (): boolean {
  try {
    const version = execFileSync(PROGRAM, ['--version'], { encoding: 'utf8' }).match(/PgBouncer (\d+)\.(\d+)/)
    return version !== null && (Number(version[1]) > 1 || Number(version[2]) >= 21)
  } catch {
    return false
  }
}
