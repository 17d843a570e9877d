/**
 * sweep_ms_<n>k: one sweep (the worker's TokenSweep with the configured horizon and period:
 * index-only query per page + one batched refresh job per 50 clients) over `integrations` active
 * integrations of which `expiring` expire within the hour. The plan of its query is kept too.
 */
import { loadWorkerConfig } from '@ghl-connect/config'
import { TokenSweep } from 'worker'
import { quietLogger, type Stack } from '../harness/stack.ts'
import { median, round, say } from '../stats.ts'

export interface SweepResult {
  sweep_ms: number
  details: { runsMs: number[], queryOnlyMs: number[], scanned: number, jobs: number, pages: number, integrations: number, expiringWithinHour: number, horizonSeconds: number, everySeconds: number, plan: string[] }
}

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
  const { sweepHorizonMs: horizonMs, sweepEveryMs: everyMs, agencyRefreshMs } = loadWorkerConfig(stack.base).tokens
  const sweep = new TokenSweep(stack.integrations, stack.queues.tokens, quietLogger, { horizonMs, everyMs, agencyRefreshMs })
  const runsMs: number[] = []
  let last = { scanned: 0, jobs: 0, pages: 0, agencies: 0 }
  for (let i = 0; i < opts.runs; i++) {
    await stack.redisServer.flushAll()
    const started = performance.now()
    last = await sweep.run()
    runsMs.push(round(performance.now() - started, 1))
  }
  // The first page's statement as the repository sends it, with PostgreSQL's own timing.
  const plan = (await sql.unsafe(`explain (analyze, buffers) select id, client_id, expires_at from ghl_integrations
    where is_active = true and expires_at < now() + interval '${horizonMs / 1000} seconds' and client_id <> ''
      and status <> 'needs_reauth' and refresh_token is not null
    order by expires_at, id limit 5000`)).map((r) => String(r['QUERY PLAN']))
  // The same pages without the enqueue: how much of a sweep is PostgreSQL and how much BullMQ.
  const queryMs: number[] = []
  for (let i = 0; i < opts.runs; i++) {
    const started = performance.now()
    let after: Awaited<ReturnType<typeof stack.integrations.listExpiring>>[number] | undefined
    for (;;) {
      const page = await stack.integrations.listExpiring(new Date(Date.now() + horizonMs), 5000, after)
      if (page.length < 5000) break
      after = page[page.length - 1]
    }
    queryMs.push(round(performance.now() - started, 1))
  }
  say(`sweep: ${last.scanned} refreshes queued in ${last.jobs} jobs; runs ${runsMs.join(', ')} ms; the index queries alone ${queryMs.join(', ')} ms`)
  say(`sweep: ${plan.find((l) => l.includes('Scan')) ?? plan[0]}; ${plan.find((l) => l.startsWith('Execution Time')) ?? ''}`)
  await sql`truncate ghl_integrations cascade`
  await stack.redisServer.flushAll()
  return {
    sweep_ms: median(runsMs),
    details: { runsMs, queryOnlyMs: queryMs, ...last, integrations: opts.integrations, expiringWithinHour: opts.expiring, horizonSeconds: horizonMs / 1000, everySeconds: everyMs / 1000, plan },
  }
}
