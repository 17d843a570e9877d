/**
 * email beside SMS, on the same api, worker and sandbox: email_intake_ratio is POST /api/email's
 * most requests per second over POST /api/sms's, under the same load (connections, duration, one
 * body per tenant); email_send_ratio is the worker's emails per second end to end over its SMS
 * per second, same count and concurrency, read from the sandbox's record. An email costs one
 * more HighLevel call (the contact is looked up for its address and its Email do-not-disturb).
 */
import { waitFor } from '../harness/ports.ts'
import type { Stack, Tenant } from '../harness/stack.ts'
import { runLoad } from '../load/load.ts'
import { round, say, throughput } from '../stats.ts'
import { LIFTED_LIMITS } from './worker.ts'

export interface EmailResult {
  email_intake_ratio: number
  email_send_ratio: number
  details: { smsRequestsPerSecond: number, emailRequestsPerSecond: number, smsPerSecond: number, emailsPerSecond: number, messages: number, concurrency: number, connections: number, durationSeconds: number }
}

export async function emailScenario (stack: Stack, tenants: Tenant[], opts: { durationSeconds: number, connections: number, messages: number, concurrency: number }): Promise<EmailResult> {
  // Intake: the same api process for both, SMS first.
  await stack.resetData()
  const api = await stack.startApi()
  const intake = async (path: '/api/sms' | '/api/email', bodies: string[]) => {
    const spec = { url: api.url, method: 'POST' as const, path, bodies, connections: opts.connections, headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' } }
    await runLoad({ ...spec, durationSeconds: 3 }) // warm-up
    const max = await runLoad({ ...spec, durationSeconds: opts.durationSeconds })
    say(`${path}: ${round(max.rps, 0)} req/s at most (${max.non2xx} non-2xx, ${max.errors} errors), p99 ${max.p99Ms} ms`)
    return max.ok / max.durationSeconds
  }
  const smsRps = await intake('/api/sms', tenants.map((t, i) => JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: `Your appointment is tomorrow at 10:00 (#${i})` })))
  const emailRps = await intake('/api/email', tenants.map((t, i) => JSON.stringify({
    clientId: t.clientId, to: { contactId: t.contactId }, subject: `Your appointment (#${i})`, html: `<p>Your appointment is tomorrow at <b>10:00</b> (#${i})</p>`,
  })))
  await api.service.stop()

  // Send: the same worker settings for both; rows written straight to the outbox, then the worker started.
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  const env = { ...LIFTED_LIMITS, WORKER_CONCURRENCY: String(opts.concurrency) }
  const send = async (channel: 'sms' | 'email') => {
    await stack.resetData()
    const before = (await stack.sandbox.stats()).messagesSent
    const messages = Array.from({ length: opts.messages }, (_, i) => ({ tenant: tenants[i % tenants.length]!, body: `Reminder ${i}: your appointment is tomorrow at 10:00` }))
    await stack.enqueueDirect(messages, { channel })
    const worker = await stack.startWorker(`worker-${channel}`, env)
    await waitFor(`every ${channel} to be sent`, async () => (await stack.sandbox.stats()).messagesSent >= before + opts.messages, 300_000, 200)
    await worker.stop()
    const rate = throughput((await stack.sandbox.messages()).slice(-opts.messages).map((m) => Date.parse(m.sentAt)))
    say(`worker: ${round(rate, 0)} ${channel} per second`)
    return rate
  }
  const smsRate = await send('sms')
  const emailRate = await send('email')
  await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
  return {
    email_intake_ratio: round(emailRps / smsRps),
    email_send_ratio: round(emailRate / smsRate),
    details: {
      smsRequestsPerSecond: round(smsRps, 1), emailRequestsPerSecond: round(emailRps, 1), smsPerSecond: round(smsRate, 1), emailsPerSecond: round(emailRate, 1),
      messages: opts.messages, concurrency: opts.concurrency, connections: opts.connections, durationSeconds: opts.durationSeconds,
    },
  }
}
