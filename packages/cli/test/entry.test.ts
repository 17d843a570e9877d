import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createWorld } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** `pnpm ghl ...` as an operator types it at the repository root. */
function pnpmGhl (args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['ghl', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

t.test('the real entry (pnpm ghl): --help exits 0, an unknown command or a bad flag value exits 2 with a sentence, --json output parses; the process ends by itself', async (t) => {
  const w = await createWorld(t)
  await w.connect('client-1', { locationName: 'Sunrise Dental' })

  const help = await pnpmGhl(['--help'], w.env)
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: pnpm ghl <command>/)
  t.match(help.stdout, /^ {2}sms retry-failed {2}send a client's failed SMS and email again$/m)

  const unknown = await pnpmGhl(['client', 'list'], w.env)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /ghl: Unknown command "client"\. Commands: links, clients, sms, events, tokens\. See `pnpm ghl --help`\./)

  const badValue = await pnpmGhl(['clients', 'list', '--status', 'broken'], w.env)
  t.equal(badValue.code, 2)
  t.match(badValue.stderr, /ghl: --status must be one of needs_reauth, expiring, location_inactive, active, disconnected, unclaimed; got "broken"\./)

  const listed = await pnpmGhl(['clients', 'list', '--json'], w.env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(JSON.parse(listed.stdout), [{ clientId: 'client-1', locationName: 'Sunrise Dental', health: 'active' }], 'stdout is only the JSON (pnpm\'s banner goes to stderr)')

  // A command that opens Redis and the queues too ends by itself once done.
  const retried = await pnpmGhl(['sms', 'retry-failed', 'client-1', '--json'], w.env)
  t.equal(retried.code, 0, retried.stderr)
  t.match(JSON.parse(retried.stdout), { clientId: 'client-1', requeued: 0, queued: 0 })
})

t.test('pnpm ghl uses what a running start.sh was given (its stack.env) before .env: a link names the port the stack runs on', async (t) => {
  const w = await createWorld(t)
  const dataDir = t.testdir({ 'stack.env': "APP_URL='http://localhost:3999'\n" })
  const { APP_URL: _, ...env } = w.env
  const run = await pnpmGhl(['links', 'create', 'client-9', '--json'], { ...env, GHL_CONNECT_DATA_DIR: dataDir })
  t.equal(run.code, 0, run.stderr)
  t.match(JSON.parse(run.stdout), { url: /^http:\/\/localhost:3999\/api\// })
})
