/**
 * The integrator's first hour, from a clean clone: `scripts/start.sh` on ports other than the
 * defaults, a client connected in headless Chromium, the stack restarted, an SMS sent (no
 * needs_reauth: the sandbox kept its grants), and a reply and a delivery report triggered through
 * the sandbox reaching a CRM receiver as signed events. Then every code block of README.md and
 * docs/ marked runnable (```sh runnable, ```ts runnable) runs as pasted against that stack.
 */
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { chromium } from 'playwright-core'
import { createTestDatabase, startCrmReceiver, TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { portOpen, ROOT, unusedPort, waitUntil } from './helpers.ts'
import { runnableBlocks, type RunnableBlock } from './runnable-blocks.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SUNRISE = 'sbxLocation000000001'
const JANE = 'sbxContact0000000001'
/** A build and two starts on a shared machine; the whole run stays within minutes. */
t.setTimeout(600_000)

interface Stack { child: ChildProcess, output: () => string, exited: Promise<number | null> }

/** `bash scripts/start.sh` in the clone, until its banner says it is running. */
async function startStack (cwd: string, env: NodeJS.ProcessEnv): Promise<Stack> {
  const child = spawn('bash', ['scripts/start.sh'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let text = ''
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  await waitUntil('start.sh to say the stack is running', () => {
    if (child.exitCode !== null) throw new Error(`start.sh exited ${child.exitCode}:\n${text}`)
    return text.includes('ghl-connect is running')
  }, 420_000)
  return { child, output: () => text, exited }
}

/** Ctrl-C's signal: start.sh stops the sandbox, the api and the worker, then exits. */
async function stopStack (stack: Stack): Promise<void> {
  if (stack.child.exitCode === null) stack.child.kill('SIGTERM')
  await stack.exited
}

async function connectInChromium (t: Test, connectPageUrl: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
  try {
    const page = await browser.newPage()
    await page.goto(connectPageUrl)
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')])
    await popup.click(`[data-testid="allow-${SUNRISE}"]`, { timeout: 30_000 })
    // The popup posts to CRM_ORIGIN, unset here: APP_URL's origin, on this port.
    await page.waitForSelector('#status[data-connected="true"]', { timeout: 30_000 })
    t.equal(await page.textContent('#status'), 'Connected to Sunrise Dental')
  } finally {
    await browser.close()
  }
}

/** A curl that fails on an HTTP error (and says why), so a snippet whose request is refused fails. */
function curlShim (dir: string): string {
  mkdirSync(dir, { recursive: true })
  const real = (process.env.PATH ?? '').split(':').map((d) => join(d, 'curl')).find((file) => existsSync(file)) ?? '/usr/bin/curl'
  writeFileSync(join(dir, 'curl'), `#!/usr/bin/env bash\nexec ${real} --fail-with-body -sS "$@"\n`, { mode: 0o755 })
  return dir
}

/** One runnable block, as pasted, with localhost:3000 meaning the stack under test. */
function runBlock (block: RunnableBlock, clone: string, env: NodeJS.ProcessEnv, apiUrl: string): Promise<{ code: number | null, output: string }> {
  const text = block.code.replaceAll('http://localhost:3000', apiUrl)
  let command: string[]
  let cwd = clone
  if (block.lang === 'sh') {
    command = ['bash', '-e', '-o', 'pipefail', '-c', text]
  } else {
    // Where the imports resolve: the client package names itself; the MCP SDK is the api's.
    cwd = join(clone, text.includes('@modelcontextprotocol/sdk') ? 'services/api' : 'packages/client')
    const file = join(cwd, `snippet-${block.line}.ts`)
    writeFileSync(file, text)
    command = [process.execPath, '--import', 'tsx', file]
  }
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, output }) })
  })
}

t.test('from a clean clone: connect in Chromium, restart the stack, send: sent; a reply and a delivery report reach the CRM signed; every runnable snippet runs', { skip: !process.env.CI && !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'ghl-first-hour-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
  const clone = join(scratch, 'repo')
  await new Promise<void>((resolve, reject) => spawn('git', ['clone', '--quiet', ROOT, clone], { stdio: 'ignore' })
    .once('exit', (code) => code === 0 ? resolve() : reject(new Error(`git clone exited ${code}`))))

  const db = await createTestDatabase({ migrate: false })
  t.teardown(() => db.drop())
  const secret = 'first-hour-crm-webhook-secret-0123456789'
  const receiver = await startCrmReceiver(secret)
  t.teardown(() => receiver.close())
  const [port, sandboxPort] = [await unusedPort(), await unusedPort()]
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    SANDBOX_PORT: String(sandboxPort),
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: uniqueRedisPrefix('first-hour'),
    CRM_WEBHOOK_URL: receiver.url,
    CRM_WEBHOOK_SECRET: secret,
    LOG_LEVEL: 'warn',
  }
  let stack = await startStack(clone, env)
  t.teardown(async () => {
    if (stack.child.exitCode === null) process.kill(-stack.child.pid!, 'SIGKILL')
  })
  const api = `http://localhost:${port}`
  const sandbox = `http://localhost:${sandboxPort}`
  t.match(stack.output(), `API                 ${api}`, 'the banner names the port given')
  const apiKey = parseEnv(readFileSync(join(clone, '.env'), 'utf8')).API_KEYS!.split(',')[0]!.replace(/^[A-Za-z0-9_.-]+:/, '')
  t.match(stack.output(), `-H "authorization: Bearer ${apiKey}"`, 'the banner\'s curl carries the key')
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }

  const link = await (await fetch(`${api}/api/ghl-oauth/connect-links`, { method: 'POST', headers: auth, body: JSON.stringify({ clientId: 'client-42' }) })).json() as { connectPageUrl: string }
  await connectInChromium(t, link.connectPageUrl)

  await stopStack(stack)
  stack = await startStack(clone, env)

  const sms = await fetch(`${api}/api/sms`, { method: 'POST', headers: auth, body: JSON.stringify({ clientId: 'client-42', to: { phone: '+15550100001' }, message: 'After the restart', idempotencyKey: 'first-hour-1' }) })
  t.equal(sms.status, 202, 'taken after the restart')
  const { id } = await sms.json() as { id: string }
  const sent = await waitUntil('the SMS to be sent', async () => {
    const view = await (await fetch(`${api}/api/sms/${id}`, { headers: auth })).json() as { status: string, error: unknown }
    return view.status === 'sent' || view.status === 'failed' ? view : undefined
  }, 60_000)
  t.match(sent, { status: 'sent', error: null }, 'sent, not needs_reauth: the sandbox kept the grant across the restart')

  const delivery = await waitUntil('a signed sms.delivery event', () => receiver.received.find((r) => r.event.type === 'sms.delivery' && r.event.data.messageId === id), 60_000)
  t.ok(delivery.verified && delivery.standardWebhooks, 'the delivery report reached the CRM, signed (typed client and Standard Webhooks verify it)')
  const reply = await fetch(`${sandbox}/_sandbox/replies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contactId: JANE, body: 'Yes, see you then' }) })
  t.equal(reply.status, 200)
  const received = await waitUntil('a signed sms.received event', () => receiver.received.find((r) => r.event.type === 'sms.received'), 60_000)
  t.ok(received.verified && received.standardWebhooks, 'the reply reached the CRM, signed (typed client and Standard Webhooks verify it)')

  const shim = curlShim(join(scratch, 'bin'))
  const snippetEnv = { ...env, PATH: `${shim}:${env.PATH}`, API: api, API_KEY: apiKey, GHL_CONNECT_API_KEY: apiKey }
  const blocks = ['README.md', ...['crm-guide.md', 'operations.md', 'design.md', 'security.md'].map((f) => `docs/${f}`)]
    .flatMap((file) => runnableBlocks(readFileSync(join(clone, file), 'utf8')).map((block) => ({ file, block })))
  t.ok(blocks.length >= 7, `${blocks.length} runnable blocks found`)
  for (const { file, block } of blocks) {
    const { code, output } = await runBlock(block, clone, snippetEnv, api)
    t.equal(code, 0, `${file}:${block.line} (${block.lang}) runs as pasted${code === 0 ? '' : `:\n${output}`}`)
  }

  await stopStack(stack)
  t.notOk(await portOpen(port), 'SIGTERM stops the api (and with it the stack)')
  t.notOk(existsSync(join(clone, '.data', 'stack.env')), 'and removes what it kept for pnpm ghl')
})
