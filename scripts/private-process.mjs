// Runs the private servers' programs (initdb, postgres, redis-server) so that every way they can
// fail ends in one Error whose message names the cause: a program that cannot be started (a
// spawn 'error', which Node would otherwise throw as an unhandled event), one that exits, one
// that does not get ready in time. What they print goes to the log and is kept for that message.
import { spawn } from 'node:child_process'

/**
 * Starts `command`. Each line it prints goes to `log` and to the kept `lines()`. `ended` resolves
 * when the process is gone, `closed` once all it printed has been read too (a server's children
 * may hold its output open a moment longer); both resolve with how it ended, or with
 * `{ spawnError }` when it could not be started at all. Servers are started `detached` (their
 * own process group), so a Ctrl-C reaches only the helper, which stops each server once.
 */
export function launch (command, args, { log, ...options }) {
  const lines = []
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ''
    stream.on('data', (chunk) => {
      log.write(chunk)
      const parts = (partial + chunk.toString('utf8')).split('\n')
      partial = parts.pop()
      for (const line of parts) {
        lines.push(line)
        if (lines.length > 200) lines.shift()
        for (const listener of [...lineListeners]) listener(line)
      }
    })
  }
  const lineListeners = new Set()
  const outcome = (event) => new Promise((resolveOutcome) => {
    child.once('error', (spawnError) => resolveOutcome({ spawnError }))
    child.once(event, (code, signal) => resolveOutcome({ code, signal }))
  })
  return {
    child,
    ended: outcome('exit'),
    closed: outcome('close'),
    lines: () => [...lines],
    onLine: (listener) => { lineListeners.add(listener); return () => lineListeners.delete(listener) },
  }
}

/**
 * Resolves once `isReady(line)` holds for a line the program printed. Rejects with
 * `explain(ended, lines)` when it ends first, or with a timeout message.
 */
export function untilReady (launched, { name, isReady, explain, timeoutMs, logFile }) {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      stopListening()
      reject(new Error(`${name} did not get ready within ${timeoutMs / 1000} s (the machine may be overloaded); see ${logFile}`))
    }, timeoutMs)
    const stopListening = launched.onLine((line) => {
      if (!isReady(line)) return
      clearTimeout(timer)
      stopListening()
      resolveReady()
    })
    void launched.closed.then((ended) => {
      clearTimeout(timer)
      stopListening()
      reject(new Error(explain(ended, launched.lines())))
    })
  })
}

/** Sends `signal` and waits for the end; SIGKILL after `graceMs`. */
export async function stopLaunched (launched, signal, graceMs = 15_000) {
  if (launched.child.exitCode !== null || launched.child.signalCode !== null) return
  launched.child.kill(signal)
  const timer = setTimeout(() => launched.child.kill('SIGKILL'), graceMs)
  await launched.ended
  clearTimeout(timer)
}

/** How a program that ended on its own is described: its exit code or signal. */
export const howEnded = ({ code, signal }) => signal ? `killed by ${signal}` : `exit code ${code}`

/** The message for a program that could not be started at all (a spawn 'error'). */
export function cannotRun (path, error, fix) {
  return `cannot run ${path} (${error.code ?? error.message}): ${fix}`
}
