/**
 * quiet_tenant_p99_ms: a busy tenant has 10,000 SMS queued (paced by HighLevel's real limit of
 * 100 per 10 s per location); a quiet tenant sends one SMS a second through POST /api/sms. The
 * latency is the outbox's own record: sent_at - created_at of each quiet SMS.
 */
import { request } from 'undici'
import { sleep, waitFor } from '../harness/ports.ts'
import type { Stack, Tenant } from '../harness/stack.ts'
import { percentile, say } from '../stats.ts'

export interface QuietTenantResult { quiet_tenant_p99_ms: number, details: { samples: number, p50Ms: number, maxMs: number, busyQueued: number, busySentMeanwhile: number } }

export async function quietTenantScenario (stack: Stack, busy: Tenant, quiet: Tenant, opts: { busyMessages: number, seconds: number }): Promise<QuietTenantResult> {
  await stack.resetData()
  await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
  await stack.enqueueDirect(Array.from({ length: opts.busyMessages }, (_, i) => ({ tenant: busy, body: `campaign message ${i}` })))
  const api = await stack.startApi({}, 'api-quiet')
  const worker = await stack.startWorker('worker-quiet')
  for (let i = 0; i < opts.seconds; i++) {
    const res = await request(`${api.url}/api/sms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: quiet.clientId, to: { contactId: quiet.contactId }, message: `Your code is ${1000 + i}` }),
    })
    await res.body.dump()
    await sleep(1000)
  }
  const { sql } = stack.database
  await waitFor('the quiet tenant\'s SMS to be sent', async () => {
    const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from sms_messages where client_id = ${quiet.clientId} and status <> 'sent'`
    return row!.n === 0
  }, 60_000, 200)
  const rows = await sql<Array<{ ms: number }>>`
    select extract(epoch from (sent_at - created_at)) * 1000 as ms from sms_messages where client_id = ${quiet.clientId}`
  const latencies = rows.map((r) => Number(r.ms))
  const [busySent] = await sql<Array<{ n: number }>>`select count(*)::int as n from sms_messages where client_id = ${busy.clientId} and status = 'sent'`
  await worker.stop()
  await api.service.stop()
  const p99 = Math.round(percentile(latencies, 99))
  say(`quiet tenant: ${latencies.length} SMS, p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${p99} ms; busy tenant sent ${busySent!.n}`)
  return {
    quiet_tenant_p99_ms: p99,
    details: { samples: latencies.length, p50Ms: Math.round(percentile(latencies, 50)), maxMs: Math.round(Math.max(...latencies)), busyQueued: opts.busyMessages, busySentMeanwhile: busySent!.n },
  }
}
