/**
 * Replies and delivery status, end to end: HighLevel is the sandbox (it sends InboundMessage and
 * OutboundMessage webhooks to the api, signed), the worker is a real process, and the CRM is a
 * real HTTP server that receives the signed events.
 */
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { eventually, startCrmReceiver } from '@ghl-connect/testing'
import { buildTestApiWithSandbox } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const SUNRISE = 'sbxLocation000000001'
export const JANE = 'sbxContact0000000001'
export const JOHN = 'sbxContact0000000002'
export const MARIA = 'sbxContact0000000003'
export const CLIENT = 'clinic-7'

/** The api listening (HighLevel's webhooks reach it over HTTP), connected to Sunrise Dental with real sandbox tokens, events on. */
export async function twoWay (t: Test) {
  const secret = randomBytes(32).toString('hex')
  const crm = await startCrmReceiver(secret)
  t.teardown(() => crm.close())
  let logs = ''
  const api = await buildTestApiWithSandbox(t, { CRM_WEBHOOK_URL: crm.url, CRM_WEBHOOK_SECRET: secret, GHL_RATE_LIMIT_MAX: '900' },
    { rateLimit: { max: 1000 } }, { logs: { write: (line: string) => { logs += line } } })
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { control } = api.sandbox
  control.configureMessageWebhooks({ webhookUrl: `${address}/api/ghl-oauth/webhooks` })
  const tokens = control.issueTokens({ locationId: SUNRISE })
  await api.app.runtime.integrations.replaceActive(CLIENT, {
    locationId: SUNRISE, locationName: 'Sunrise Dental', userType: 'Location', scopes: String(tokens.scope).split(' '),
    accessToken: tokens.access_token, refreshToken: String(tokens.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  })
  const startWorker = () => {
    const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env }, stdio: 'ignore' })
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
    t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })
    return { stop: async () => { worker.kill('SIGTERM'); return exited } }
  }
  const outbox = api.app.runtime.eventsOutbox!
  const delivered = (eventId: string) => eventually(`${eventId} delivered to the CRM`, async () =>
    (await outbox.findById(eventId))?.status === 'delivered', 90_000)
  /** What the CRM received of one type, once no delivery is left queued (so a repeat would be among it). */
  const settledPosts = async (type: string) => {
    await eventually('no CRM delivery left queued', async () =>
      await api.app.runtime.queues.crmEvents.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'active') === 0)
    return crm.received.filter((r) => r.event.type === type)
  }
  return { ...api, control, crm, tokens, startWorker, delivered, settledPosts, logs: () => logs }
}

