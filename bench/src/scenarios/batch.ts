/**
 * batch_sms_per_second: SMS taken in per second through POST /api/sms/batch (1,000 messages a
 * request, each with a fresh idempotency key, from a few posters at once), beside
 * single_sms_per_second: the same api taking POST /api/sms one message a request at its most, in
 * the same run.
 */
import type { Stack, Tenant } from '../harness/stack.ts'
import { runLoad } from '../load/load.ts'
import { round, say } from '../stats.ts'

export interface BatchResult {
  batch_sms_per_second: number
  single_sms_per_second: number
  details: { batchSize: number, posters: number, batches: number, batchP50Ms: number, durationSeconds: number, connections: number }
}

const BATCH_SIZE = 1000

export async function batchScenario (stack: Stack, tenants: Tenant[], opts: { durationSeconds: number, posters: number, connections: number }): Promise<BatchResult> {
  await stack.resetData()
  const api = await stack.startApi()
  try {
    const headers = { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' }
    const text = (i: number) => `Your appointment is tomorrow at 10:00 (#${i})`

    const bodies = tenants.map((t, i) => JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: text(i) }))
    const spec = { url: api.url, method: 'POST' as const, path: '/api/sms', bodies, connections: opts.connections, headers }
    await runLoad({ ...spec, durationSeconds: 3 }) // warm-up: JIT, pools
    const single = await runLoad({ ...spec, durationSeconds: opts.durationSeconds })
    const singleRate = single.ok / single.durationSeconds
    say(`batch: POST /api/sms ${round(singleRate, 0)} SMS/s (${single.non2xx} non-2xx)`)

    let run = 0
    const batchBody = () => {
      const prefix = `bench-${run++}`
      return JSON.stringify({
        messages: Array.from({ length: BATCH_SIZE }, (_, i) => {
          const t = tenants[i % tenants.length]!
          return { clientId: t.clientId, to: { contactId: t.contactId }, message: text(i), idempotencyKey: `${prefix}-${i}` }
        }),
      })
    }
    const post = async () => {
      const body = batchBody()
      const began = performance.now()
      const res = await fetch(`${api.url}/api/sms/batch`, { method: 'POST', headers, body })
      const answer = await res.json() as { accepted?: number }
      if (res.status !== 207) throw new Error(`POST /api/sms/batch answered ${res.status}`)
      return { accepted: answer.accepted ?? 0, ms: performance.now() - began }
    }
    for (let i = 0; i < opts.posters; i++) await post() // warm-up

    const timings: number[] = []
    let accepted = 0
    const began = performance.now()
    const deadline = began + opts.durationSeconds * 1000
    await Promise.all(Array.from({ length: opts.posters }, async () => {
      while (performance.now() < deadline) {
        const r = await post()
        accepted += r.accepted
        timings.push(r.ms)
      }
    }))
    const seconds = (performance.now() - began) / 1000
    const batchRate = accepted / seconds
    timings.sort((a, b) => a - b)
    const p50 = round(timings[Math.floor(timings.length / 2)] ?? 0, 0)
    say(`batch: POST /api/sms/batch ${round(batchRate, 0)} SMS/s (${timings.length} batches of ${BATCH_SIZE}, p50 ${p50} ms each)`)
    return {
      batch_sms_per_second: round(batchRate, 0),
      single_sms_per_second: round(singleRate, 0),
      details: { batchSize: BATCH_SIZE, posters: opts.posters, batches: timings.length, batchP50Ms: p50, durationSeconds: opts.durationSeconds, connections: opts.connections },
    }
  } finally {
    await api.service.stop()
  }
}
