// A private Redis (redis-server from PATH) for a machine with none running and no Docker
// (scripts/private-services.mjs runs it). Its data stays in DATA_DIR/redis: Redis runs as
// whoever starts it, so it can always reach that folder.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { cannotRun, howEnded, launch, stopLaunched, untilReady } from './private-process.mjs'

const INSTALL = 'install Redis 7 (apt-get install redis-server, brew install redis) or set REDIS_URL to one'

/**
 * Starts redis-server on 127.0.0.1:port; `record(pid, dir)` is told its pid and the folder it
 * runs in. Resolves with { url, pid, ended }.
 */
export async function startRedis ({ dataDir, port, log, logFile, record }) {
  const dir = join(dataDir, 'redis')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const server = launch('redis-server', [
    '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--daemonize', 'no',
    // queues survive a restart; BullMQ needs keys never evicted
    '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction',
  ], { log, cwd: dir, detached: true })
  record(server.child.pid, dir)
  await untilReady(server, {
    name: 'Redis',
    isReady: (line) => line.includes('Ready to accept connections'),
    explain: (ended, lines) => whyRedisStopped(ended, lines, { port, logFile }),
    timeoutMs: 30_000,
    logFile,
  }).catch(async (err) => { await stopLaunched(server, 'SIGKILL'); throw err })
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: server.child.pid,
    ended: server.ended,
  }
}

/** One line for a redis-server that ended before it was ready: the cause and what to do. */
function whyRedisStopped (ended, lines, { port, logFile }) {
  if (ended.spawnError?.code === 'ENOENT') return `redis-server is not installed (not on PATH): ${INSTALL}`
  if (ended.spawnError) return cannotRun('redis-server', ended.spawnError, INSTALL)
  if (lines.some((line) => /Address already in use/.test(line))) {
    return `Redis could not listen on 127.0.0.1:${port}: the port was taken meanwhile; start again (each start picks a free port)`
  }
  // Redis marks warnings with '#' after the timestamp
  const said = lines.filter((line) => / # /.test(line)).pop()?.replace(/^.*? # /, '')
  return `redis-server stopped while starting (${howEnded(ended)}${said ? `: ${said}` : ''}); see ${logFile}`
}
