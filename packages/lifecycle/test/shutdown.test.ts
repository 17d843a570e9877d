import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { eventually } from '@ghl-connect/testing'

t.test('a second SIGTERM while shutting down exits at once, logged as a warning, not an error', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', fileURLToPath(new URL('./second-signal.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const lines = () => output.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number, msg: string, signal?: string })
  await eventually('the process is ready', () => lines().some((l) => l.msg === 'ready') || undefined)
  child.kill('SIGTERM')
  await eventually('its close has begun', () => lines().some((l) => l.msg === 'closing') || undefined)
  child.kill('SIGTERM')
  t.equal(await exited, 1, 'the second signal ends it without waiting for the close')
  t.match(lines().find((l) => /second/.test(l.msg)), { level: 40, signal: 'SIGTERM', msg: 'second signal while shutting down; exiting now' })
  t.same(lines().filter((l) => l.level >= 50), [], 'no line at error level')
})
