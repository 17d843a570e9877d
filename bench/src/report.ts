/** The table both commands print, and the machine a run happened on. */
import { cpus, totalmem, release } from 'node:os'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { binDir } from './harness/postgres.ts'

export interface Row { key: string, value: number | string, target?: string, met?: boolean | null }

export function printTable (title: string, rows: Row[]): void {
  const cells = rows.map((r) => [r.key, String(r.value), r.target ?? '', r.met === undefined || r.met === null ? '' : r.met ? 'met' : 'MISSED'])
  const head = ['measure', 'value', 'target', '']
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]) => c.map((v, i) => (i === 1 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd()
  process.stdout.write(`\n${title}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${cells.map(line).join('\n')}\n`)
}

export function machine (): Record<string, string | number> {
  const version = (cmd: string, args: string[]) => { try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0]! } catch { return 'unknown' } }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    postgres: (() => { try { return version(join(binDir(), 'postgres'), ['--version']) } catch { return 'unknown' } })(),
    redis: version('redis-server', ['--version']),
  }
}

export function parseArgs (argv: string[]) {
  /** The value of `--name=value`, undefined when not given. */
  const valueOf = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(`--${name}=`.length)
  const only = valueOf('only')?.split(',').filter(Boolean)
  const integrations = Number(valueOf('integrations') ?? 100_000)
  if (!Number.isInteger(integrations) || integrations < 1000) throw new Error('--integrations= takes a whole number of at least 1000')
  const integrationsGiven = valueOf('integrations') !== undefined
  const concurrencyArg = valueOf('worker-concurrency')
  const workerConcurrency = concurrencyArg === undefined ? null : Number(concurrencyArg)
  if (workerConcurrency !== null && (!Number.isInteger(workerConcurrency) || workerConcurrency < 1)) throw new Error('--worker-concurrency= takes a whole number of at least 1')
  const ghlLatencyMs = Number(valueOf('ghl-latency-ms') ?? 0)
  if (!Number.isInteger(ghlLatencyMs) || ghlLatencyMs < 0) throw new Error('--ghl-latency-ms= takes a whole number of milliseconds')
  const proxyConnections = Number(valueOf('proxy-connections') ?? 32)
  if (!Number.isInteger(proxyConnections) || proxyConnections < 1) throw new Error('--proxy-connections= takes a whole number of at least 1')
  return { json: argv.includes('--json'), quick: argv.includes('--quick'), keep: argv.includes('--keep'), only: only ?? null, integrations, integrationsGiven, workerConcurrency, ghlLatencyMs, proxyConnections }
}
