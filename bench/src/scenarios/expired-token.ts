/**
 * expired_token_ratio: the time to send 100 SMS for one client whose access token has expired
 * (the first job refreshes through the locked path, the others wait for it and reuse the new
 * token) over the same with a fresh token; expired_token_refreshes: refreshes the sandbox saw.
 * Rounds alternate fresh/expired; medians are compared. Limits lifted as in worker_ratio.
 */
import { waitFor } from '../harness/ports.ts'
import type { Stack, Tenant } from '../harness/stack.ts'
import { median, round, say } from '../stats.ts'
import { LIFTED_LIMITS } from './worker.ts'

export interface ExpiredTokenResult {
  expired_token_ratio: number
  expired_token_refreshes: number
  details: { freshMs: number[], expiredMs: number[], refreshesPerExpiredRound: number[], messagesPerRound: number, concurrency: number }
}

export async function expiredTokenScenario (stack: Stack, tenant: Tenant, opts: { messages: number, rounds: number, concurrency: number }): Promise<ExpiredTokenResult> {
  await stack.resetData()
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  const worker = await stack.startWorker('worker-expired', { ...LIFTED_LIMITS, WORKER_CONCURRENCY: String(opts.concurrency) })
  const freshMs: number[] = []
  const expiredMs: number[] = []
  const refreshes: number[] = []
  const round1 = async (expired: boolean, n: number) => {
    const { sql } = stack.database
    if (expired) await sql`update ghl_integrations set expires_at = now() - interval '1 minute' where client_id = ${tenant.clientId} and is_active`
    const ids = await stack.enqueueDirect(Array.from({ length: opts.messages }, (_, i) => ({ tenant, body: `round ${n} message ${i}` })), { queue: false })
    const before = await stack.sandbox.stats()
    const started = Date.now()
    await Promise.all(ids.map((id) => stack.dispatcher.enqueue({ id, clientId: tenant.clientId })))
    await waitFor('100 SMS to be sent', async () => (await stack.sandbox.stats()).messagesSent >= before.messagesSent + opts.messages, 120_000, 20)
    const last = (await stack.sandbox.messages(tenant.locationId)).at(-1)!
    const tookMs = Date.parse(last.sentAt) - started
    const after = await stack.sandbox.stats()
    if (expired) { expiredMs.push(tookMs); refreshes.push(after.refreshes - before.refreshes) } else freshMs.push(tookMs)
  }
  // Warm-up (not counted): JIT, pools and connections of the fresh worker.
  await round1(false, -1)
  freshMs.length = 0
  for (let n = 0; n < opts.rounds; n++) {
    await round1(false, 2 * n)
    await round1(true, 2 * n + 1)
  }
  await worker.stop()
  await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })
  say(`expired token: fresh ${freshMs.join(', ')} ms; expired ${expiredMs.join(', ')} ms; refreshes ${refreshes.join(', ')}`)
  return {
    expired_token_ratio: round(median(expiredMs) / median(freshMs)),
    expired_token_refreshes: Math.max(...refreshes),
    details: { freshMs, expiredMs, refreshesPerExpiredRound: refreshes, messagesPerRound: opts.messages, concurrency: opts.concurrency },
  }
}
