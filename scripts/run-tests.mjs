#!/usr/bin/env node
// The test files run as tap's runner would, with the same settings (package.json "tap": include,
// jobs, timeout, node-arg), printing the same TAP stream (each file a subtest, its own TAP
// indented under it), but without tap's process tracking: tap's runner loads
// @tapjs/processinfo into every test process and, through NODE_OPTIONS, into every process a test
// starts (api, worker, sandbox, pnpm), which hooks each module load for coverage we do not
// collect. That was a fifth of the suite's CPU (README, "Run it, test it").
//   node scripts/run-tests.mjs [--jobs=N] [--timeout=SECONDS] [file.test.ts ...]
// Without files: every file the include patterns match. Exits non-zero when a file failed.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const config = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).tap

const files = []
let jobs = config.jobs
let timeoutSeconds = config.timeout
for (const arg of process.argv.slice(2)) {
  const [flag, value] = arg.split('=')
  if (flag === '--jobs' && Number(value) > 0) jobs = Number(value)
  else if (flag === '--timeout' && Number(value) > 0) timeoutSeconds = Number(value)
  else if (arg.endsWith('.ts') && !arg.startsWith('-')) files.push(relative(root, join(process.cwd(), arg)))
  else {
    process.stderr.write(`run-tests: "${arg}" is not a test file, --jobs=N or --timeout=SECONDS; for tap's own options run \`pnpm exec tap ${arg} <file>\`.\n`)
    process.exit(2)
  }
}

/** One include pattern ("packages/*\/test/**\/*.test.ts") as a regular expression on a path from the root. */
function globToRegExp (glob) {
  const part = (p) => p === '**' ? '(?:[^/]+/)*' : `${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')}/`
  return new RegExp(`^${glob.split('/').map(part).join('').replace(/\/$/, '')}$`)
}

function matching (patterns) {
  const wanted = patterns.map(globToRegExp)
  const found = []
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
      const path = dir ? `${dir}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(path)
      else if (wanted.some((re) => re.test(path))) found.push(path)
    }
  }
  // from each pattern's first folder: a pattern added elsewhere is found without a change here
  for (const top of new Set(patterns.map((p) => p.split('/')[0]))) walk(top)
  return found.sort()
}

const list = files.length > 0 ? files : matching(config.include)
const nodeArgs = config['node-arg'] ?? []
// tap's library reads these as its runner sets them: the time a file may take, and TAP on stdout
const env = { ...process.env, TAP: '1', TAP_TIMEOUT: String(timeoutSeconds) }

process.stdout.write(`TAP version 14\n1..${list.length}\n`)
let n = 0
let failed = 0
const children = new Set()

/** One file: its TAP indented as a subtest, then its own test point. */
function runFile (file) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [...nodeArgs, file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { err += d })
    // tap's own timeout ends a stuck file with "timeout!"; this is for a file that cannot even do that
    const hardStop = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 30) * 1000)
    child.once('close', (code, signal) => {
      clearTimeout(hardStop)
      children.delete(child)
      const ms = (performance.now() - started).toFixed(3)
      const body = out.split('\n').filter((line) => !line.startsWith('TAP version')).map((line) => line ? `    ${line}` : '').join('\n')
      const ok = code === 0
      n += 1
      let text = `# Subtest: ${file}\n${body.trimEnd()}\n`
      if (!ok) {
        failed += 1
        const tail = err.trim() ? err.trimEnd().split('\n').slice(-60).map((line) => `    # ${line}`).join('\n') : ''
        text += `${tail ? `${tail}\n` : ''}not ok ${n} - ${file} # time=${ms}ms\n  ---\n  exitCode: ${code}\n  signal: ${signal}\n  ...\n\n`
      } else {
        text += `ok ${n} - ${file} # time=${ms}ms\n\n`
      }
      process.stdout.write(text)
      resolve()
    })
  })
}

// Stopped (Ctrl-C, or the reader of our output gone): the files running stop too, none left behind.
const stopAll = (code) => { for (const child of children) child.kill('SIGTERM'); process.exit(code) }
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stopAll(130))
process.stdout.on('error', () => stopAll(1))

const queue = [...list]
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
  while (queue.length > 0) await runFile(queue.shift())
}))
process.exitCode = failed > 0 ? 1 : 0
