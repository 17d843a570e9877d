export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}
export const median = (values: number[]) => percentile(values, 50)
export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

/** Messages per second between the first and the last timestamp of a run. */
export function throughput (timestampsMs: number[]): number {
  if (timestampsMs.length < 2) return NaN
  const sorted = [...timestampsMs].sort((a, b) => a - b)
  return (sorted.length - 1) / ((sorted[sorted.length - 1]! - sorted[0]!) / 1000)
}

/** Progress lines go to stderr, so `--json` leaves stdout to the one JSON object. */
export const say = (line: string) => process.stderr.write(`  ${line}\n`)
