/**
 * batch_sms_per_second: SMS taken in per second through POST /api/sms/batch (1,000 messages a
 * request, each with a fresh idempotency key, from a few posters at once), beside
 * single_sms_per_second: the same api taking POST /api/sms one message a request at its most, in
 * the same run. batch_ratio: the api's batch rate over the bare batch route's (bare-api.ts: one
 * INSERT for the batch's rows and one addBulk, nothing else), the same batches from the same posters.
 */
import type { Stack, Tenant } from '../harness/stack.ts'
import { ENTRIES } from '../harness/processes.ts'
import { runLoad } from '../load/load.ts'
import { round, say } from '../stats.ts'

/** One side's batch figures. */
export interface BatchRun { smsPerSecond: number, batches: number, batchP50Ms: number }

export interface BatchResult {
  batch_sms_per_second: number
  single_sms_per_second: number
  batch_ratio: number
  details: { api: BatchRun, bare: BatchRun, batchSize: number, posters: number, durationSeconds: number, connections: number }
}

const BATCH_SIZE = 1000
const text = (i: number) => `Your appointment is tomorrow at 10:00 (#${i})`

/** `posters` loops posting batches of BATCH_SIZE for `durationSeconds`, after one warm-up batch each. */
async function postBatches (url: string, headers: Record<string, string>, tenants: Tenant[], opts: { durationSeconds: number, posters: number }): Promise<BatchRun> {
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
    const res = await fetch(`${url}/api/sms/batch`, { method: 'POST', headers, body })
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
  timings.sort((a, b) => a - b)
  return { smsPerSecond: round(accepted / seconds, 0), batches: timings.length, batchP50Ms: round(timings[Math.floor(timings.length / 2)] ?? 0, 0) }
}

export async function batchScenario (stack: Stack, tenants: Tenant[], opts: { durationSeconds: number, posters: number, connections: number }): Promise<BatchResult> {
  // The bare route first, as enqueue does; each side from an empty outbox and Redis.
  await stack.resetData()
  const bareApi = await stack.startApi({}, 'bare-api-batch', ENTRIES.bareApi)
  let bare: BatchRun
  try {
    bare = await postBatches(bareApi.url, { 'content-type': 'application/json' }, tenants, opts)
    say(`batch: bare route ${bare.smsPerSecond} SMS/s (${bare.batches} batches of ${BATCH_SIZE}, p50 ${bare.batchP50Ms} ms each)`)
  } finally {
    await bareApi.service.stop()
  }

  await stack.resetData()
  const api = await stack.startApi()
  try {
    const headers = { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' }
    const bodies = tenants.map((t, i) => JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: text(i) }))
    const spec = { url: api.url, method: 'POST' as const, path: '/api/sms', bodies, connections: opts.connections, headers }
    await runLoad({ ...spec, durationSeconds: 3 }) // warm-up: JIT, pools
    const single = await runLoad({ ...spec, durationSeconds: opts.durationSeconds })
    const singleRate = single.ok / single.durationSeconds
    say(`batch: POST /api/sms ${round(singleRate, 0)} SMS/s (${single.non2xx} non-2xx)`)

    const batch = await postBatches(api.url, headers, tenants, opts)
    say(`batch: POST /api/sms/batch ${batch.smsPerSecond} SMS/s (${batch.batches} batches of ${BATCH_SIZE}, p50 ${batch.batchP50Ms} ms each)`)
    return {
      batch_sms_per_second: batch.smsPerSecond,
      single_sms_per_second: round(singleRate, 0),
      batch_ratio: round(batch.smsPerSecond / bare.smsPerSecond),
      details: { api: batch, bare, batchSize: BATCH_SIZE, posters: opts.posters, durationSeconds: opts.durationSeconds, connections: opts.connections },
    }
  } finally {
    await api.service.stop()
  }
}
