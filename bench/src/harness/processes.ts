/**
 * The services under measurement run as child processes (`node --import tsx <entry>`), each with
 * the environment a deployment would give it, their logs written to the run's folder. The pid is
 * node's own, so SIGKILL reaches the process itself and /proc tells its peak resident memory.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

export const ENTRIES = {
  api: 'services/api/src/server.ts',
  worker: 'services/worker/src/main.ts',
  sandbox: 'services/ghl-sandbox/src/server.ts',
  bareApi: 'bench/src/baselines/bare-api.ts',
  bareWorker: 'bench/src/baselines/bare-worker.ts',
} as const

export interface Service {
  name: string
  pid: number
  child: ChildProcess
  exited: Promise<number | null>
  /** Peak resident set (VmHWM) in MB, while the process lives. */
  peakRssMb: () => number
  kill: (signal?: NodeJS.Signals) => void
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

export function spawnService (name: string, entry: string, env: Record<string, string | undefined>, logDir: string): Service {
  const path = join(REPO_ROOT, entry)
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' })
  // BENCH_NODE_ARGS: extra node flags for one run (e.g. --cpu-prof for the profiles in docs/benchmarks.md).
  const { BENCH_NODE_ARGS: given, ...childEnv } = env
  const nodeArgs = given ?? (name === process.env.BENCH_PROFILE_SERVICE ? process.env.BENCH_NODE_ARGS : undefined)
  const child = spawn(process.execPath, [...(nodeArgs ? nodeArgs.split(' ') : []), '--import', 'tsx', path], {
    cwd: dirname(dirname(path)),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...childEnv } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.pipe(log, { end: false })
  child.stderr!.pipe(log, { end: false })
  const exited = new Promise<number | null>((resolvePromise) => child.once('exit', (code) => resolvePromise(code)))
  let lastPeak = 0
  const peakRssMb = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
      lastPeak = Math.max(lastPeak, kb / 1024)
    } catch { /* gone: the last reading stands */ }
    return Math.round(lastPeak * 10) / 10
  }
  return {
    name,
    pid: child.pid!,
    child,
    exited,
    peakRssMb,
    kill: (signal = 'SIGKILL') => { child.kill(signal) },
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
