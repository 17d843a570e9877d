/**
 * pnpm drill [--json] [--only=kill_worker,redis_flush,postgres_restart,ghl_faults,refresh_race,refresh_crash,refresh_pg_down,lock_loss,events,redis_failover,webhook_loss,install_storm]
 * Fault drills, each on its own throwaway PostgreSQL and Redis: how many SMS were asked for,
 * how many HighLevel (the sandbox) accepted, lost and duplicated, from the sandbox's record.
 */
import { DRILLS } from './drills/drills.ts'
import type { DrillTally } from './drills/drill-kit.ts'
import { machine, parseArgs } from './report.ts'

const args = parseArgs(process.argv.slice(2))
const started = Date.now()
const tallies: DrillTally[] = []
for (const [name, drill] of Object.entries(DRILLS)) {
  if (args.only && !args.only.includes(name)) continue
  process.stderr.write(`drill ${name}\n`)
  const t0 = Date.now()
  const tally = await drill()
  tally.notes.tookSeconds = Math.round((Date.now() - t0) / 1000)
  tallies.push(tally)
  process.stderr.write(`  ${JSON.stringify({ ...tally, notes: undefined })}\n`)
}
const tookSeconds = Math.round((Date.now() - started) / 1000)
if (args.json) {
  process.stdout.write(`${JSON.stringify({ drills: Object.fromEntries(tallies.map((t) => [t.drill, t])), tookSeconds, machine: machine() })}\n`)
} else {
  const head = ['drill', 'sms_requested', 'sms_sent', 'lost', 'duplicated', 'delivery_unknown', 'invalid_grants', 'needs_reauth', 'failed_reported (of the lost)']
  const rows = tallies.map((t) => [t.drill, String(t.sms_requested), String(t.sms_sent), String(t.lost), String(t.duplicated), String(t.delivery_unknown),
    t.invalid_grants === undefined ? '' : String(t.invalid_grants), t.needs_reauth === undefined ? '' : String(t.needs_reauth),
    Object.entries(t.failed_reported).map(([k, v]) => `${k} ${v}`).join(', ')])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => r.map((v, i) => (i === 0 || i === head.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd()
  process.stdout.write(`\nghl-connect drills (${tookSeconds} s)\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n`)
  for (const t of tallies) {
    const failover = t.notes.failover as { replicaPromotedAfterMs: number, sendingResumedAfterMs: number } | undefined
    if (failover) process.stdout.write(`\n${t.drill}: replica promoted ${failover.replicaPromotedAfterMs} ms after the kill; HighLevel accepting SMS again after ${failover.sendingResumedAfterMs} ms\n`)
  }
  process.stdout.write('\nTargets: lost = 0, duplicated = 0, delivery_unknown = 0, invalid_grants = 0, needs_reauth = 0. Details: pnpm drill --json\n')
}
process.exit(0)
