/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) by where the time went: self time per package
 * (node_modules/<pkg>, our packages/<name> and services/<name>, node: internals, GC, idle) and
 * the top functions. `node --import tsx bench/src/tools/profile-summary.ts <file.cpuprofile> [top]`
 */
import { readFileSync } from 'node:fs'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[] }

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

function bucket (n: Node): string {
  const { url, functionName } = n.callFrame
  if (!url) return `(${functionName || 'anonymous'})`
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  const ours = /\/(packages|services|bench)\/([^/]+)\//.exec(url)
  if (ours) return `${ours[1]}/${ours[2]}`
  if (url.startsWith('node:')) return url
  return url
}

const buckets = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, us] of self) {
  const n = byId.get(id)!
  buckets.set(bucket(n), (buckets.get(bucket(n)) ?? 0) + us)
  const name = `${n.callFrame.functionName || '(anonymous)'} ${bucket(n)}:${n.callFrame.lineNumber + 1}`
  functions.set(name, (functions.get(name) ?? 0) + us)
}
// Native and node: frames charged to the nearest package frame that called them (who asked for the write, the hash...).
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const isLibrary = (b: string) => !b.startsWith('(') && !b.startsWith('node:')
const callers = new Map<string, number>()
for (const [id, us] of self) {
  let n = byId.get(id)!
  if (['((idle))', '((garbage collector))', '((program))', '((root))'].includes(bucket(n))) continue
  while (!isLibrary(bucket(n)) && parent.has(n.id)) n = byId.get(parent.get(n.id)!)!
  const b = isLibrary(bucket(n)) ? bucket(n) : '(no package frame)'
  callers.set(b, (callers.get(b) ?? 0) + us)
}
const pct = (us: number) => `${(100 * us / total).toFixed(1).padStart(5)}%`
const top = Number(topArg ?? 25)
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n\nby package (self time)\n`)
for (const [k, v] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`)
process.stdout.write('\nby package, native and node: time charged to the package that called it\n')
for (const [k, v] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`)
process.stdout.write('\nby function (self time)\n')
for (const [k, v] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(v)}  ${k}\n`)
