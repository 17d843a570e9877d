import t from 'tap'
import { buildApp, createRuntime } from 'api'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { createWorld } from './helper.ts'

const pathOf = (u: string) => { const p = new URL(u); return p.pathname + p.search }

t.test('links create mints a link the api accepts: authorize goes on to HighLevel and the connect page opens; both work for 10 minutes', async (t) => {
  const w = await createWorld(t)
  const app = await buildApp(createRuntime(loadApiConfig(w.env), createLogger({ level: 'silent' })))
  t.teardown(() => app.close())
  const now = Date.now()
  const run = await w.ghl(['links', 'create', 'client-42'], { now: () => now })
  t.equal(run.code, 0, run.stderr)
  const url = /^link:\s+(\S+)$/m.exec(run.stdout)?.[1]
  const page = /^connect page:\s+(\S+)$/m.exec(run.stdout)?.[1]
  t.match(url, /^https:\/\/connect\.example\.com\/api\/ghl-oauth\/authorize\?clientId=client-42&exp=\d+&nonce=[\w-]+&sig=[\w-]+$/)
  t.match(run.stdout, new RegExp(`^expires:\\s+${new Date(Math.floor(now / 1000) * 1000 + 600_000).toISOString()} \\(in 10m\\); single-use$`, 'm'))

  const authorize = await app.inject({ url: pathOf(url!) })
  t.equal(authorize.statusCode, 302, 'the api takes the link and sends the browser to HighLevel')
  t.match(authorize.headers.location, /\/oauth\/chooselocation\?/)
  const widget = await app.inject({ url: pathOf(page!) })
  t.equal(widget.statusCode, 200)
  t.match(widget.body, /Connect GoHighLevel/)

  const forged = await app.inject({ url: pathOf(url!).replace('client-42', 'client-43') })
  t.equal(forged.statusCode, 403, 'the signature covers the client id')
})

t.test('links create --json --expires-in 2h --return-url gives the links and their expiry', async (t) => {
  const w = await createWorld(t)
  const now = Date.parse('2026-11-30T03:00:00Z')
  const run = await w.ghl(['links', 'create', 'client-7', '--json', '--expires-in', '2h', '--return-url', 'https://crm.example.com/settings'], { now: () => now })
  t.equal(run.code, 0, run.stderr)
  const answer = JSON.parse(run.stdout)
  t.same(Object.keys(answer).sort(), ['clientId', 'connectPageUrl', 'expiresAt', 'url'])
  t.equal(answer.expiresAt, '2026-11-30T05:00:00.000Z')
  t.equal(new URL(answer.url).searchParams.get('returnUrl'), 'https://crm.example.com/settings')
  t.match(answer.connectPageUrl, /^https:\/\/connect\.example\.com\/connect\?clientId=client-7&/)
})

t.test('links create refuses a return URL off CRM_ORIGIN, an expiry past 7 days and an unknown flag with exit 2 and a sentence', async (t) => {
  const w = await createWorld(t)
  t.same(await w.ghl(['links', 'create', 'client-7', '--return-url', 'https://evil.example.net/']),
    { code: 2, stdout: '', stderr: 'ghl: returnUrl must be on the CRM origin https://crm.example.com (CRM_ORIGIN).\n' })
  t.same(await w.ghl(['links', 'create', 'client-7', '--expires-in', '8d']),
    { code: 2, stdout: '', stderr: 'ghl: --expires-in must be between 60s and 7d; got 8d.\n' })
  t.same(await w.ghl(['links', 'create', 'client-7', '--expire', '1h']),
    { code: 2, stdout: '', stderr: "ghl: Unknown option '--expire'. See `pnpm ghl links create --help`.\n" })
})
