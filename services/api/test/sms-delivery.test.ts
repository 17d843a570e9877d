import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startSandbox } from 'ghl-sandbox/testing'
import { buildTestApi, eventually } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SUNRISE = 'sbxLocation000000001'
const JANE = 'sbxContact0000000001'

t.test('the CRM retrying with the same idempotency key gets one SMS, before and after it was sent', async (t) => {
  const sandbox = await startSandbox()
  t.teardown(() => sandbox.close())
  const api = await buildTestApi(t, {
    GHL_CLIENT_ID: sandbox.clientId, GHL_CLIENT_SECRET: sandbox.clientSecret, GHL_AUTH_BASE_URL: sandbox.url, GHL_API_BASE_URL: sandbox.url,
  })
  const tokens = sandbox.control.issueTokens({ locationId: SUNRISE })
  await api.app.runtime.integrations.replaceActive('crm-client-7', {
    locationId: SUNRISE, userType: 'Location', scopes: String(tokens.scope).split(' '), accessToken: tokens.access_token,
    refreshToken: String(tokens.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  })
  const request = { clientId: 'crm-client-7', to: { contactId: JANE }, message: 'Your order shipped', idempotencyKey: 'order-7-shipped' }
  const send = () => api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: request })

  const first = await send()
  t.equal(first.statusCode, 202)
  const { id } = first.json()
  t.same((await send()).json(), { id, status: 'queued' }, 'a retry before sending answers the first message')

  const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env }, stdio: 'ignore' })
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
  t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })

  const view: { sentAt: string, createdAt: string } = await eventually('the SMS sent', async () => {
    const res = await api.app.inject({ url: `/api/sms/${id}`, headers: api.auth })
    return res.json().status === 'sent' ? res.json() : undefined
  })
  const [delivered, ...more] = sandbox.control.messages()
  t.same(more, [], 'HighLevel was asked once')
  t.match(view, { id, status: 'sent', attempts: 1, error: null, ghlMessageId: delivered?.messageId, conversationId: delivered?.conversationId })
  t.ok(Date.parse(view.sentAt) >= Date.parse(view.createdAt))

  t.same((await send()).json(), { id, status: 'sent' }, 'a retry after sending answers the first message, now sent')
  t.equal(await api.app.runtime.queues.sms.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'active'), 0, 'nothing new to send')
  t.equal(sandbox.control.messages().length, 1, 'still one SMS')
  worker.kill('SIGTERM')
  t.equal(await exited, 0)
})
