/**
 * The test command's runner (scripts/run-tests.mjs) and its summary (scripts/tap-summary.mjs):
 * every failure counts, whether a test failed, the file died or it never ended, and the files run
 * with tap's settings but without tap's per-process tracking.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT } from './helpers.ts'

/** `command` from the repository's root: its exit code, and stdout and stderr together. */
function run (command: string, args: string[]): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    child.once('close', (code) => resolve({ code, output }))
  })
}

/** The runner on `files`, through the summary, as scripts/test.sh pipes them. */
const runThroughSummary = (files: string[], flags: string[] = []) =>
  run('bash', ['-c', 'node scripts/run-tests.mjs "$@" 2>&1 | node scripts/tap-summary.mjs', 'run', ...flags, ...files])

const lastLine = (output: string) => output.trimEnd().split('\n').at(-1)

t.test('a failed test, a file that dies and a file that never ends each count as failed; the passes are counted too', async (t) => {
  const dir = t.testdir({
    'passes.test.ts': "import t from 'tap'\nt.test('one', async (t) => { t.ok(true) })\nt.test('two', async (t) => { t.ok(true) })\n",
    'fails.test.ts': "import t from 'tap'\nt.test('good', async (t) => { t.ok(true) })\nt.test('bad', async (t) => { t.ok(false) })\n",
    'dies.test.ts': "console.error('dying on purpose')\nprocess.exit(3)\n",
    'hangs.test.ts': "import t from 'tap'\nt.test('forever', async () => { await new Promise(() => setInterval(() => {}, 1000)) })\n",
  })
  const files = ['passes', 'fails', 'dies', 'hangs'].map((name) => relative(ROOT, join(dir, `${name}.test.ts`)))
  const { code, output } = await runThroughSummary(files, ['--timeout=2'])
  if (!t.equal(lastLine(output), '3 passed, 3 failed', 'the summary line')) t.comment(output)
  t.equal(code, 1, 'the command fails')
  t.match(output, /# dying on purpose\nnot ok \d+ - .*dies\.test\.ts/, 'a file that died shows its stderr above its failure')
})

// Under tap's own runner (`pnpm exec tap` on this file) every process this one starts carries the tracking.
const underTapRunner = /processinfo/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)

t.test('each file runs with the configured timeout and the tsx loader, without tap\'s processinfo in it or in what it starts', { skip: underTapRunner && 'run under tap\'s runner, which puts its tracking in every process started' }, async (t) => {
  const config = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).tap as { timeout: number }
  const dir = t.testdir({
    'env.test.ts': `import t from 'tap'
import { execFileSync } from 'node:child_process'
t.test('env', async (t) => {
  t.equal(process.env.TAP_TIMEOUT, '${config.timeout}')
  t.notMatch(process.execArgv.join(' ') + ' ' + (process.env.NODE_OPTIONS ?? ''), /processinfo/)
  const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(process.execArgv.join(" ") + " " + (process.env.NODE_OPTIONS ?? ""))']).toString()
  t.notMatch(child, /processinfo/, 'nor in a process it starts')
})
`,
  })
  const { code, output } = await runThroughSummary([relative(ROOT, join(dir, 'env.test.ts'))])
  // the summary counts named tests: the file's one test, `env`
  if (!t.equal(lastLine(output), '1 passed, 0 failed', 'the summary line')) t.comment(output)
  t.equal(code, 0)
})

t.test('a flag it does not know is refused with a sentence, before any file runs', async (t) => {
  // The runner alone: its own exit code, not the summary's.
  const { code, output } = await run(process.execPath, ['scripts/run-tests.mjs', '--grep=x'])
  t.equal(code, 2)
  t.match(output, /run-tests: "--grep=x" is not a test file, --jobs=N or --timeout=SECONDS/)
  t.notMatch(output, /TAP version/)
})
