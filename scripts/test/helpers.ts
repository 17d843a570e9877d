/** What the tests of the repository's scripts share: where the repository is, spawning, waiting. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually } from '@ghl-connect/testing'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** A loopback port nobody listens on right now (the one freePort, under the name these tests use). */
export { freePort as unusedPort } from '@ghl-connect/testing'

/** true when something accepts a TCP connection on 127.0.0.1:port. */
export function portOpen (port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolveOpen(true) })
    socket.once('error', () => resolveOpen(false))
  })
}

/** true while `pid` runs; an ended process not yet reaped (a zombie, e.g. an orphan PID 1 reaps late) is not running. */
export function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8') // "pid (comm) state ...": comm may hold spaces and parentheses
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z'
  } catch {
    return true // no /proc: kill(pid, 0) is all there is
  }
}

/** The one polling helper (@ghl-connect/testing's `eventually`), with these tests' 30 s default. */
export const waitUntil = <T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> =>
  eventually(what, check, timeoutMs)

export interface Started {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** Starts a command, keeping what it prints (stdout and stderr together) for assertions. */
export function start (command: string, args: string[], opts: { cwd: string, env: NodeJS.ProcessEnv }): Started {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] })
  let text = ''
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))
  return { child, output: () => text, exited }
}

/**
 * PATH as given, less every `docker`: each folder holding one is replaced by a folder of links to
 * everything else in it, so the scripts see a machine without Docker.
 */
export function pathWithoutDocker (scratch: string): string {
  return (process.env.PATH ?? '').split(':').filter(Boolean).map((dir, i) => {
    if (!existsSync(join(dir, 'docker'))) return dir
    const shadow = join(scratch, `path-${i}`)
    mkdirSync(shadow, { recursive: true })
    for (const name of readdirSync(dir)) {
      if (name !== 'docker') symlinkSync(join(dir, name), join(shadow, name))
    }
    return shadow
  }).join(':')
}
