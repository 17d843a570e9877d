/**
 * What the bare-machine tests share: a machine without PostgreSQL, Redis or Docker as the scripts
 * see it (dead ports, no docker on PATH), the bare start of scripts/lib.sh run in a checkout, and
 * what a started run must answer and leave behind.
 */
import { type Test } from 'tap'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { ROOT, pathWithoutDocker, portOpen, processAlive, start, unusedPort, waitUntil, type Started } from './helpers.ts'

/** A scratch folder (mode 755: as root, the user postgres can enter a data folder in it) and a PATH without docker. */
export function bareMachine (t: Test): { scratch: string, dataDir: string, PATH: string } {
  const scratch = mkdtempSync(join(tmpdir(), 'ghl-bare-'))
  chmodSync(scratch, 0o755)
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
  return { scratch, dataDir: join(scratch, 'data'), PATH: pathWithoutDocker(scratch) }
}

/** true unless root; as a `skip` reason otherwise. */
export const notRoot = process.getuid?.() !== 0 && 'needs root: PostgreSQL runs as another user (postgres) only when started by root'

const script = `
set -euo pipefail
source scripts/lib.sh
trap stop_private_services EXIT
ensure_services "$GIVEN_POSTGRES_URL" "$GIVEN_REDIS_URL"
echo "READY $SERVICES_POSTGRES_URL $SERVICES_REDIS_URL"
read -r _ || true
`

export interface Private {
  run: Started
  postgresUrl: string
  redisUrl: string
  postgresPid: number
  redisPid: number
  ports: number[]
  /** the run's own folder under TMPDIR, named after the pid of scripts/private-services.mjs */
  runDir: string
  helperPid: number
  postgresData: string
}

export interface Where {
  PATH: string
  /** GHL_CONNECT_DATA_DIR; none (the checkout's .data) when null */
  data: string | null
  checkout?: string
}

/** Runs the bare start in a checkout (this one by default); ends when its stdin does. */
export async function runScripts ({ PATH, data, checkout = ROOT }: Where): Promise<Started> {
  const [pgPort, redisPort] = [await unusedPort(), await unusedPort()]
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH,
    GIVEN_POSTGRES_URL: `postgres://postgres@127.0.0.1:${pgPort}/ghl_connect`,
    GIVEN_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  }
  if (data) env.GHL_CONNECT_DATA_DIR = data
  else delete env.GHL_CONNECT_DATA_DIR
  return start('bash', ['-c', script], { cwd: checkout, env })
}

/** Runs the bare start until it is ready; with what it started. */
export async function startScripts (where: Where): Promise<Private> {
  const run = await runScripts(where)
  const ready = await waitUntil('the private services', () => {
    if (run.child.exitCode !== null) throw new Error(`the script exited (${run.child.exitCode}): ${run.output()}`)
    return /READY (\S+) (\S+)/.exec(run.output()) ?? undefined
  }, 120_000)
  const stateFile = join(where.data ?? join(where.checkout ?? ROOT, '.data'), 'services.env')
  const state = Object.fromEntries(readFileSync(stateFile, 'utf8').trim().split('\n')
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).replace(/^'|'$/g, '')]))
  return {
    run,
    postgresUrl: ready[1]!,
    redisUrl: ready[2]!,
    postgresPid: Number(state.PRIVATE_POSTGRES_PID),
    redisPid: Number(state.PRIVATE_REDIS_PID),
    ports: [Number(state.PRIVATE_POSTGRES_PORT), Number(state.PRIVATE_REDIS_PORT)],
    runDir: state.PRIVATE_SERVICES_RUN!,
    helperPid: Number(/-(\d+)-[^/]+$/.exec(state.PRIVATE_SERVICES_RUN!)![1]),
    postgresData: state.PRIVATE_POSTGRES_DATA!,
  }
}

export async function assertStopped (t: Test, started: Private): Promise<void> {
  await waitUntil('the private PostgreSQL and Redis to stop',
    () => !processAlive(started.postgresPid) && !processAlive(started.redisPid), 30_000)
  t.notOk(processAlive(started.postgresPid), 'no PostgreSQL process left')
  t.notOk(processAlive(started.redisPid), 'no Redis process left')
  for (const port of started.ports) t.notOk(await portOpen(port), `port ${port} is closed`)
  await waitUntil('the run folder to be removed', () => !existsSync(started.runDir), 10_000)
  t.notOk(existsSync(started.runDir), `the run's folder ${started.runDir} is removed`)
}

/** The URL for the server's own `postgres` database. */
export const adminUrl = (url: string) => { const u = new URL(url); u.pathname = '/postgres'; return u.toString() }

/** Asks the private PostgreSQL and Redis a question each, as the api would. */
export async function assertAnswering (t: Test, started: Private): Promise<void> {
  const sql = postgres(adminUrl(started.postgresUrl), { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<Array<{ version: string, encoding: string }>>`select version(), current_setting('server_encoding') as encoding`
    t.match(row!.version, /^PostgreSQL 15\./, 'a real PostgreSQL 15 answers')
    t.equal(row!.encoding, 'UTF8', 'in UTF-8')
  } finally {
    await sql.end({ timeout: 1 })
  }
  const redis = new Redis(started.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    t.equal(await redis.ping(), 'PONG', 'Redis answers')
  } finally {
    redis.disconnect()
  }
}
