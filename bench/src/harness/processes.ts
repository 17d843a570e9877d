/**
 * The services under measurement run as child processes, each with the environment a deployment
 * would give it, their logs written to the run's folder. The pid is node's own, so SIGKILL reaches
 * the process itself and /proc tells its peak resident memory.
 * api, worker and sandbox run as production runs them: `node dist/...`, the compiled build (built
 * first when missing or older than a source). `pnpm bench --sources` (or BENCH_SOURCES=1) runs
 * their TypeScript sources through tsx instead. The bare baselines are bench code with no build of
 * their own: they always run through tsx.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

export const FROM_SOURCES = process.argv.includes('--sources') || process.env.BENCH_SOURCES === '1'

export const ENTRIES = {
  api: 'services/api/src/server.ts',
  worker: 'services/worker/src/main.ts',
  sandbox: 'services/ghl-sandbox/src/server.ts',
  bareApi: 'bench/src/baselines/bare-api.ts',
  bareWorker: 'bench/src/baselines/bare-worker.ts',
} as const

/**
 * The heap flags api and worker run with in production (scripts/start.sh, docker-compose.yml and
 * the Dockerfile carry the same; scripts/test/heap-flags.test.ts checks): measured RSS is theirs.
 * The bare baselines run without them (V8's defaults), so the flags' GC cost counts against us.
 */
export const HEAP_FLAGS: Record<'api' | 'worker', string> = {
  api: '--max-semi-space-size=2 --max-old-space-size=96',
  worker: '--max-semi-space-size=8 --max-old-space-size=96',
}
const HEAP_FLAGS_OF: Record<string, string> = { 'services/api/src/server.ts': HEAP_FLAGS.api, 'services/worker/src/main.ts': HEAP_FLAGS.worker }

/** What `pnpm build` makes of each service entry. */
const COMPILED: Record<string, string> = {
  [ENTRIES.api]: 'services/api/dist/server.js',
  [ENTRIES.worker]: 'services/worker/dist/main.js',
  [ENTRIES.sandbox]: 'services/ghl-sandbox/dist/server.js',
}

/** The newest modification time under the folders the build reads. */
function newestSource (): number {
  let newest = 0
  const visit = (path: string) => {
    if (!existsSync(path)) return
    const stat = statSync(path)
    if (!stat.isDirectory()) { newest = Math.max(newest, stat.mtimeMs); return }
    for (const name of readdirSync(path)) if (name !== 'node_modules' && name !== 'dist' && name !== 'test') visit(join(path, name))
  }
  for (const folder of ['packages', 'services']) {
    for (const pkg of readdirSync(join(REPO_ROOT, folder))) {
      for (const part of ['src', 'scripts', 'package.json']) visit(join(REPO_ROOT, folder, pkg, part))
    }
  }
  for (const file of ['pnpm-lock.yaml', 'scripts/build.mjs']) visit(join(REPO_ROOT, file))
  return newest
}

let checkedBuild = false
/** Runs `pnpm build` once per run when a compiled entry is missing or older than its sources. */
function ensureBuilt (): void {
  if (checkedBuild) return
  checkedBuild = true
  console.error('bench: api, worker and sandbox run compiled (node dist/...); --sources runs their TypeScript sources')
  const builtAt = Math.min(...Object.values(COMPILED).map((file) => {
    const path = join(REPO_ROOT, file)
    return existsSync(path) ? statSync(path).mtimeMs : 0
  }))
  if (builtAt >= newestSource()) return
  console.error('bench: building the services (pnpm build): the compiled build is missing or older than its sources')
  execFileSync('pnpm', ['build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
}

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
  const compiled = FROM_SOURCES ? undefined : COMPILED[entry]
  if (compiled) ensureBuilt()
  const path = join(REPO_ROOT, compiled ?? entry)
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' })
  // BENCH_NODE_ARGS: extra node flags for one run (e.g. --cpu-prof for the profiles in docs/benchmarks.md).
  const { BENCH_NODE_ARGS: given, ...childEnv } = env
  const nodeArgs = given ?? (name === process.env.BENCH_PROFILE_SERVICE ? process.env.BENCH_NODE_ARGS : undefined)
  const heapFlags = HEAP_FLAGS_OF[entry]?.split(' ') ?? []
  const child = spawn(process.execPath, [...heapFlags, ...(nodeArgs ? nodeArgs.split(' ') : []), ...(compiled ? [] : ['--import', 'tsx']), path], {
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
