/**
 * sweep_ms_100k: one sweep (the worker's TokenSweep: paged index query + bulk enqueue of refresh
 * jobs) over 100,000 active integrations of which 10,000 expire within the hour.
 */
import { TokenSweep } from 'worker'
import { quietLogger, type Stack } from '../harness/stack.ts'
import { median, round, say } from '../stats.ts'

export interface SweepResult { sweep_ms_100k: number, details: { runsMs: number[], queryOnlyMs: number[], scanned: number, integrations: number, expiringWithinHour: number } }

export async function sweepScenario (stack: Stack, opts: { integrations: number, expiring: number, runs: number }): Promise<SweepResult> {
  const { sql } = stack.database
  await sql`truncate sms_messages, ghl_integrations cascade`
  await stack.redisServer.flushAll()
  // Ciphertext is never opened by the sweep, so placeholder values stand in for it.
  await sql`
    insert into ghl_integrations (client_id, location_id, access_token, refresh_token, expires_at, scopes)
    select 'sweep-' || g, 'loc' || g, 'k1:placeholder', 'k1:placeholder',
      case when g <= ${opts.expiring} then now() + (g % 3300 + 120) * interval '1 second'
           else now() + interval '2 hours' + (g % 79200) * interval '1 second' end,
      '{conversations/message.write}'
    from generate_series(1, ${opts.integrations}) as g`
  await sql`vacuum analyze ghl_integrations`
  const sweep = new TokenSweep(stack.integrations, stack.queues.tokens, quietLogger, { horizonMs: 3600_000, everyMs: 300_000 })
  const runsMs: number[] = []
  let scanned = 0
  for (let i = 0; i < opts.runs; i++) {
    await stack.redisServer.flushAll()
    const started = performance.now()
    const result = await sweep.run()
    runsMs.push(round(performance.now() - started, 1))
    scanned = result.scanned
  }
  // The same pages without the enqueue: how much of a sweep is PostgreSQL and how much BullMQ.
  const queryMs: number[] = []
  for (let i = 0; i < opts.runs; i++) {
    const started = performance.now()
    let after: Awaited<ReturnType<typeof stack.integrations.listExpiring>>[number] | undefined
    for (;;) {
      const page = await stack.integrations.listExpiring(new Date(Date.now() + 3600_000), 1000, after)
      if (page.length < 1000) break
      after = page[page.length - 1]
    }
    queryMs.push(round(performance.now() - started, 1))
  }
  say(`sweep: ${scanned} refreshes queued; runs ${runsMs.join(', ')} ms; the index queries alone ${queryMs.join(', ')} ms`)
  await sql`truncate ghl_integrations cascade`
  await stack.redisServer.flushAll()
  return { sweep_ms_100k: median(runsMs), details: { runsMs, queryOnlyMs: queryMs, scanned, integrations: opts.integrations, expiringWithinHour: opts.expiring } }
}
