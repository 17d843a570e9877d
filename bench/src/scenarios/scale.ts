/**
 * The scaling curve, measured rather than claimed: intake (POST /api/sms at the most the apis
 * sustain) with 1 and 2 api processes, and sending (end to end through the worker, read from the
 * sandbox's record) with 1, 2 and 4 worker processes, all on this machine and its one PostgreSQL
 * and Redis. The 1-process figures are the single-process ones the other scenarios report; each
 * row says its speed-up over them. The machine's load average is recorded beside each figure: on
 * a machine with fewer cores than processes the curve flattens, and that is what it shows.
 */
import { loadavg } from 'node:os'
import type { RunningApi, Stack, Tenant } from '../harness/stack.ts'
import { waitFor } from '../harness/ports.ts'
import type { Service } from '../harness/processes.ts'
import { runLoad } from '../load/load.ts'
import { round, say, throughput } from '../stats.ts'
import { LIFTED_LIMITS } from './worker.ts'

export interface ScaleRow { processes: number, perSecond: number, speedup: number, loadAverage1m: number }
export interface ScaleResult {
  scale_intake_2api_speedup: number
  scale_send_4worker_speedup: number
  details: { intake: ScaleRow[], send: ScaleRow[], cores: number, messages: number, durationSeconds: number, connections: number, workerConcurrency: number }
}

export async function scaleScenario (stack: Stack, tenants: Tenant[], opts: { durationSeconds: number, connections: number, messages: number, workerConcurrency: number, cores: number }): Promise<ScaleResult> {
  const bodies = tenants.map((t, i) => JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: `Your appointment is tomorrow at 10:00 (#${i})` }))
  const intake: ScaleRow[] = []
  for (const count of [1, 2]) {
    await stack.resetData()
    const apis: RunningApi[] = []
    for (let i = 0; i < count; i++) apis.push(await stack.startApi({}, `scale-api-${count}-${i}`))
    // One load generator per api, the connections shared out: a load balancer's even split.
    const spec = (api: RunningApi, durationSeconds: number) => ({
      url: api.url, method: 'POST' as const, path: '/api/sms', bodies, connections: Math.ceil(opts.connections / count), durationSeconds,
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    })
    await Promise.all(apis.map((api) => runLoad(spec(api, 3)))) // warm-up: JIT, pools
    const load = loadavg()[0]!
    const results = await Promise.all(apis.map((api) => runLoad(spec(api, opts.durationSeconds))))
    const perSecond = results.reduce((sum, r) => sum + r.ok / r.durationSeconds, 0)
    intake.push({ processes: count, perSecond: round(perSecond, 0), speedup: round(perSecond / (intake[0]?.perSecond ?? perSecond)), loadAverage1m: round(load, 2) })
    say(`scale: ${count} api(s): ${round(perSecond, 0)} SMS accepted/s (${results.reduce((s, r) => s + r.non2xx + r.errors, 0)} non-2xx or errors), load ${round(load, 2)}`)
    await Promise.all(apis.map((api) => api.service.stop()))
  }

  const send: ScaleRow[] = []
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  const env = { ...LIFTED_LIMITS, WORKER_CONCURRENCY: String(opts.workerConcurrency) }
  for (const count of [1, 2, 4]) {
    await stack.resetData()
    // The queue paused while the jobs are queued and the workers start, so all of them start on a full queue together.
    await stack.queues.sms.pause()
    const before = (await stack.sandbox.stats()).messagesSent
    await stack.enqueueDirect(Array.from({ length: opts.messages }, (_, i) => ({ tenant: tenants[i % tenants.length]!, body: `Scale ${count} ${i}` })))
    const workers: Service[] = []
    for (let i = 0; i < count; i++) workers.push(await stack.startWorker(`scale-worker-${count}-${i}`, env))
    const load = loadavg()[0]!
    await stack.queues.sms.resume()
    await waitFor('every SMS to be sent', async () => (await stack.sandbox.stats()).messagesSent >= before + opts.messages, 600_000, 200)
    const perSecond = throughput((await stack.sandbox.messages()).slice(-opts.messages).map((m) => Date.parse(m.sentAt)))
    send.push({ processes: count, perSecond: round(perSecond, 0), speedup: round(perSecond / (send[0]?.perSecond ?? perSecond)), loadAverage1m: round(load, 2) })
    say(`scale: ${count} worker(s): ${round(perSecond, 0)} SMS sent/s, load ${round(load, 2)}`)
    await Promise.all(workers.map((w) => w.stop()))
  }
  await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
  return {
    scale_intake_2api_speedup: intake[1]!.speedup,
    scale_send_4worker_speedup: send[2]!.speedup,
    details: { intake, send, cores: opts.cores, messages: opts.messages, durationSeconds: opts.durationSeconds, connections: opts.connections, workerConcurrency: opts.workerConcurrency },
  }
}
