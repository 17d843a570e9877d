#!/usr/bin/env node
// A private PostgreSQL (scripts/private-postgres.mjs) and/or a private Redis (private-redis.mjs),
// for a machine that has neither running nor Docker. Each listens on a free loopback port and
// both stop when this process is told to (SIGTERM, SIGINT, SIGHUP) or when the shell that
// started it is gone. scripts/lib.sh runs it.
// Use: node scripts/private-services.mjs DATA_DIR [--postgres] [--redis] [--parent PID]
// Once every server answers it writes DATA_DIR/services.env (shell lines: the URLs, the pids,
// where PostgreSQL's data is); when one cannot start, DATA_DIR/services.error holds one line
// saying why and what to do.
// Each run has its own folder, TMPDIR/ghl-connect-services-<pid>-*, removed when it ends; a run
// that was killed outright leaves it behind, with a record of its servers, and the next run
// stops those servers and removes it.
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { howEnded } from './private-process.mjs'
import { startPostgres } from './private-postgres.mjs'
import { startRedis } from './private-redis.mjs'

const args = process.argv.slice(2)
const dataDir = resolve(args[0] ?? '.data')
const wantPostgres = args.includes('--postgres')
const wantRedis = args.includes('--redis')
const parentIndex = args.indexOf('--parent')
const parentPid = parentIndex >= 0 ? Number(args[parentIndex + 1]) : process.ppid
const stateFile = join(dataDir, 'services.env')
const errorFile = join(dataDir, 'services.error')
const RUN_PREFIX = 'ghl-connect-services-'

const freePort = () => new Promise((resolvePort, reject) => {
  const server = createServer()
  server.once('error', reject)
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address()
    server.close(() => resolvePort(port))
  })
})

// A server that ended but was not yet reaped (a zombie: its parent, after a killed run, is PID 1,
// which may reap late) still answers kill(pid, 0): it counts as gone.
const alive = (pid) => {
  try { process.kill(pid, 0) } catch (err) { return err.code === 'EPERM' }
  return !zombie(pid)
}
function zombie (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8') // "pid (comm) state ...": comm may hold spaces and parentheses
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z'
  } catch { return false } // no /proc (not Linux), or it just went away
}
const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms))
const quoted = (value) => `'${String(value).replaceAll("'", `'\\''`)}'`
const oneLine = (text) => String(text).replace(/\s*\n\s*/g, ' ').trim()

let runDir
const servers = [] // { pid, dir, signal }: what stopAll stops, and the record a killed run leaves behind
let stopping = false
async function stopAll (code) {
  if (stopping) return
  stopping = true
  rmSync(stateFile, { force: true })
  for (const server of [...servers].reverse()) await stopProcess(server, { ours: true })
  if (runDir) rmSync(runDir, { recursive: true, force: true })
  process.exit(code)
}

/** Stops a server this run started, or one a killed run started if it still runs in its folder. */
async function stopProcess ({ pid, dir, signal }, { ours = false } = {}) {
  if (!alive(pid) || (!ours && !runsIn(pid, dir))) return
  try { process.kill(pid, signal) } catch { return }
  for (let i = 0; i < 150 && alive(pid); i++) await sleep(100)
  if (alive(pid)) try { process.kill(pid, 'SIGKILL') } catch { /* just ended */ }
}

/**
 * true while `pid` runs with `dir` as its working folder (servers chdir there; a reused pid does
 * not). Without Linux's /proc it cannot be told, and a server left behind is left running.
 */
function runsIn (pid, dir) {
  try { return realpathSync(`/proc/${pid}/cwd`) === dir } catch { return false }
}

/** Ends the run with one line saying why: in services.error for the shell, and in the log. */
function fail (message) {
  const line = oneLine(message)
  console.error(line)
  try { writeFileSync(errorFile, `${line}\n`, { mode: 0o600 }) } catch { /* the log has it */ }
  void stopAll(1)
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => { void stopAll(0) })
// a mistake of ours still ends in one line and stops what was started
process.on('uncaughtException', (err) => fail(`unexpected failure in scripts/private-services.mjs: ${err.message}; see ${join(dataDir, 'private-services.log')}`))
process.on('unhandledRejection', (err) => fail(`unexpected failure in scripts/private-services.mjs: ${err?.message ?? err}; see ${join(dataDir, 'private-services.log')}`))
// The shell that started us may die without a word (kill -9): then stop, so nothing is left over.
setInterval(() => { if (!alive(parentPid)) void stopAll(0) }, 500).unref()

/** Notes a server's pid and folder, in memory and in the run's record (run.json). */
function recordServer (signal) {
  return (pid, dir) => {
    if (!pid) return
    // started while the run is ending (its shell went away meanwhile): it must not outlive us
    if (stopping) { process.kill(pid, signal); return }
    servers.push({ pid, dir: realpathSync(dir), signal })
    writeFileSync(join(runDir, 'run.json.tmp'), JSON.stringify({ servers }), { mode: 0o600 })
    renameSync(join(runDir, 'run.json.tmp'), join(runDir, 'run.json'))
  }
}

/**
 * Removes the folders of earlier runs whose process is gone, first stopping the servers their
 * record names (each only while it still runs in its recorded folder: a reused pid is left alone).
 */
async function sweepLeftovers () {
  for (const name of readdirSync(tmpdir())) {
    const owner = Number(new RegExp(`^${RUN_PREFIX}(\\d+)-`).exec(name)?.[1])
    if (!owner || alive(owner)) continue
    const folder = join(tmpdir(), name)
    const stat = statSync(folder, { throwIfNoEntry: false })
    if (!stat?.isDirectory() || stat.uid !== process.getuid?.()) continue
    let record = { servers: [] }
    try { record = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) } catch { /* it started no server */ }
    for (const server of record.servers) {
      if (alive(server.pid) && runsIn(server.pid, server.dir)) console.error(`stopping pid ${server.pid}, left running in ${server.dir} by a killed run`)
      await stopProcess(server)
    }
    rmSync(folder, { recursive: true, force: true })
  }
}

async function main () {
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (err) {
    return fail(`cannot create ${dataDir} (${err.code}): set GHL_CONNECT_DATA_DIR to a folder you can write`)
  }
  rmSync(stateFile, { force: true })
  rmSync(errorFile, { force: true })
  await sweepLeftovers()
  try {
    runDir = mkdtempSync(join(tmpdir(), `${RUN_PREFIX}${process.pid}-`))
  } catch (err) {
    return fail(`cannot create this run's folder in ${tmpdir()} (${err.code}): set TMPDIR to a folder you can write`)
  }
  // as root, PostgreSQL runs as the user postgres, which must pass through this folder
  if (process.getuid?.() === 0) chmodSync(runDir, 0o711)
  const logFor = (name) => {
    const logFile = join(dataDir, `${name}.log`)
    return { log: createWriteStream(logFile, { flags: 'a', mode: 0o600 }), logFile }
  }
  const lines = [`PRIVATE_SERVICES_RUN=${quoted(runDir)}`]
  if (wantPostgres) {
    const logs = logFor('postgres')
    const pg = await startPostgres({ dataDir, runDir, port: await freePort(), ...logs, record: recordServer('SIGINT') })
    watch('PostgreSQL', pg, logs.logFile)
    lines.push(`PRIVATE_POSTGRES_URL=${quoted(pg.url)}`, `PRIVATE_POSTGRES_PID=${pg.pid}`, `PRIVATE_POSTGRES_PORT=${new URL(pg.url).port}`,
      `PRIVATE_POSTGRES_DATA=${quoted(pg.dataDir)}`)
    if (pg.temporary) lines.push(`PRIVATE_POSTGRES_TEMPORARY=${quoted(pg.temporary)}`)
  }
  if (wantRedis) {
    const logs = logFor('redis')
    const redis = await startRedis({ dataDir, port: await freePort(), ...logs, record: recordServer('SIGTERM') })
    watch('Redis', redis, logs.logFile)
    lines.push(`PRIVATE_REDIS_URL=${quoted(redis.url)}`, `PRIVATE_REDIS_PID=${redis.pid}`, `PRIVATE_REDIS_PORT=${new URL(redis.url).port}`)
  }
  // written whole, then renamed: the shell never reads half a file
  writeFileSync(`${stateFile}.tmp`, `${lines.join('\n')}\n`, { mode: 0o600 })
  renameSync(`${stateFile}.tmp`, stateFile)
}

/**
 * Ends the run when a started server ends before we stop it: quietly when someone stopped it
 * (exit code 0), else with a line saying so.
 */
function watch (name, server, logFile) {
  void server.ended.then((ended) => {
    if (stopping) return
    if (ended.code === 0) {
      console.error(`${name} was stopped; stopping the rest`)
      void stopAll(0)
    } else {
      fail(`${name} stopped on its own (${howEnded(ended)}); see ${logFile}`)
    }
  })
}

main().catch((err) => fail(err.message))
// keeps running until told to stop (the signal handlers) or until the parent is gone
setInterval(() => {}, 1 << 30)
