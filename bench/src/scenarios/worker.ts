/**
 * worker_ratio: SMS per second end to end through the worker (outbox row -> refresh path ->
 * rate limiter -> POST -> outbox update) against the sandbox with no added latency, over a bare
 * BullMQ worker that only POSTs the same request with undici. Same queue contents, same
 * concurrency, one process each; the rate is read from the sandbox's own record (first to last
 * message accepted), so start-up time counts for neither. HighLevel's per-location limit is
 * lifted on both sides here: it would cap both at 9 SMS/s per tenant and measure nothing.
 * `rounds` rounds, the two sides' order alternating, each process started afresh; the ratio of
 * the medians.
 */
import { Queue } from 'bullmq'
import { BARE_QUEUE, type BareJob } from '../baselines/bare-contract.ts'
import { cpuMs } from '../harness/cpu.ts'
import { ENTRIES } from '../harness/processes.ts'
import { waitFor } from '../harness/ports.ts'
import type { Stack, Tenant } from '../harness/stack.ts'
import { median, round, say, throughput } from '../stats.ts'

export const LIFTED_LIMITS = { GHL_RATE_LIMIT_MAX: '100000' }

export interface WorkerResult {
  worker_ratio: number
  worker_rss_mb: number
  /** The bare worker's CPU per SMS over the worker's (the process only): 1 would be as cheap. */
  worker_cpu_ratio: number
  details: { workerSmsPerSecond: number, bareSmsPerSecond: number, workerCpuMsPerSms: number, bareCpuMsPerSms: number, messages: number, concurrency: number, rounds: number, ghlLatencyMs: number }
}

/**
 * The process's CPU per SMS from when it is ready until the sandbox has `until` messages: its
 * start-up (loading, connecting) is left out, the few SMS it sent while starting are too.
 */
async function cpuPerSms (stack: Stack, pid: number, until: number): Promise<number> {
  const cpuAtReady = cpuMs(pid)
  const sentAtReady = (await stack.sandbox.stats()).messagesSent
  await waitFor('every SMS to be sent', async () => (await stack.sandbox.stats()).messagesSent >= until, 300_000, 200)
  return round((cpuMs(pid) - cpuAtReady) / Math.max(1, until - sentAtReady), 3)
}

/** `ghlLatencyMs`: HighLevel's answers that late, both sides (0: the sandbox answers at once, and the rate measures CPU). */
export async function workerScenario (stack: Stack, tenants: Tenant[], opts: { messages: number, concurrency: number, rounds: number, ghlLatencyMs?: number }): Promise<WorkerResult> {
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  if (opts.ghlLatencyMs) await stack.sandbox.setFaults({ latencyMs: opts.ghlLatencyMs })
  const body = (i: number) => `Reminder ${i}: your appointment is tomorrow at 10:00`
  const env = { ...LIFTED_LIMITS, WORKER_CONCURRENCY: String(opts.concurrency) }

  // The worker: rows and jobs first, then the process.
  const ours = async () => {
    await stack.resetData()
    const before = (await stack.sandbox.stats()).messagesSent
    await stack.enqueueDirect(Array.from({ length: opts.messages }, (_, i) => ({ tenant: tenants[i % tenants.length]!, body: body(i) })))
    const worker = await stack.startWorker('worker-throughput', env)
    const cpu = await cpuPerSms(stack, worker.pid, before + opts.messages)
    const rss = worker.peakRssMb()
    await worker.stop()
    const rate = throughput((await stack.sandbox.messages()).slice(-opts.messages).map((m) => Date.parse(m.sentAt)))
    say(`worker: ${round(rate, 0)} SMS/s, peak RSS ${rss} MB, ${cpu} ms of its CPU per SMS`)
    return { rate, cpu, rss }
  }

  // The bare worker: the same requests, carried whole in the jobs.
  const tokens = new Map<string, string>()
  for (const t of tenants) tokens.set(t.clientId, (await stack.integrations.findByClient(t.clientId))!.accessToken!)
  const queue = new Queue<BareJob>(BARE_QUEUE, { connection: stack.redis, prefix: stack.keys.bullPrefix(BARE_QUEUE) })
  const bareOnce = async () => {
    // Both sides start from the same clean PostgreSQL and Redis (the scenario before this one left its rows and keys).
    await stack.resetData()
    for (let i = 0; i < opts.messages; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, opts.messages - i) }, (_, j) => {
        const t = tenants[(i + j) % tenants.length]!
        return { name: 'send', data: { accessToken: tokens.get(t.clientId)!, contactId: t.contactId, message: body(i + j) }, opts: { removeOnComplete: true } }
      }))
    }
    const before = (await stack.sandbox.stats()).messagesSent
    const bare = await stack.startWorker('bare-worker', env, ENTRIES.bareWorker)
    const cpu = await cpuPerSms(stack, bare.pid, before + opts.messages)
    await bare.stop()
    const rate = throughput((await stack.sandbox.messages()).slice(-opts.messages).map((m) => Date.parse(m.sentAt)))
    say(`bare worker: ${round(rate, 0)} SMS/s, ${cpu} ms of its CPU per SMS`)
    return { rate, cpu }
  }

  // In rounds, their order alternating, each process started afresh: the ratio of the medians (enqueue.ts says why).
  const worker: Array<{ rate: number, cpu: number, rss: number }> = []
  const bare: Array<{ rate: number, cpu: number }> = []
  for (let i = 0; i < opts.rounds; i++) {
    if (i % 2 === 0) { bare.push(await bareOnce()); worker.push(await ours()) } else { worker.push(await ours()); bare.push(await bareOnce()) }
  }
  await queue.close()
  if (opts.ghlLatencyMs) await stack.sandbox.clearFaults()
  await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
  const workerRate = median(worker.map((r) => r.rate))
  const bareRate = median(bare.map((r) => r.rate))
  const workerCpu = median(worker.map((r) => r.cpu))
  const bareCpu = median(bare.map((r) => r.cpu))
  if (opts.rounds > 1) say(`worker: medians of ${opts.rounds} rounds: ${round(workerRate, 0)} SMS/s (${worker.map((r) => round(r.rate, 0)).join(', ')}), bare ${round(bareRate, 0)} (${bare.map((r) => round(r.rate, 0)).join(', ')})`)
  return {
    worker_ratio: round(workerRate / bareRate),
    worker_rss_mb: Math.max(...worker.map((r) => r.rss)),
    worker_cpu_ratio: round(bareCpu / workerCpu),
    details: { workerSmsPerSecond: round(workerRate, 1), bareSmsPerSecond: round(bareRate, 1), workerCpuMsPerSms: workerCpu, bareCpuMsPerSms: bareCpu, messages: opts.messages, concurrency: opts.concurrency, rounds: opts.rounds, ghlLatencyMs: opts.ghlLatencyMs ?? 0 },
  }
}
