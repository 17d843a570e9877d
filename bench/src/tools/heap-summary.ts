/**
 * Summarises a sampled heap profile (heap-sample.mjs) by where the allocations came from: each
 * sample is charged to the nearest of our functions up its stack (the compiled bundle's, so
 * libraries our code calls count as ours), else to the package it was allocated in.
 * `node --import tsx bench/src/tools/heap-summary.ts <file.heapprofile> [top] [units]`: with
 * `units` (say, the SMS the process sent) each line also says KB per unit.
 */
import { readFileSync } from 'node:fs'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children: Node[] }
interface Profile { head: Node, samples: Array<{ size: number, nodeId: number }> }

const [file, topArg, unitsArg] = process.argv.slice(2)
if (!file) throw new Error('usage: heap-summary <file.heapprofile> [top] [units]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const parent = new Map<number, Node>()
const byId = new Map<number, Node>()
const visit = (n: Node) => { byId.set(n.id, n); for (const c of n.children) { parent.set(c.id, n); visit(c) } }
visit(profile.head)

const pkgOf = (url: string) => /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? null
const ours = (url: string) => /\/(services|packages)\/[^/]+\/(dist|src)\//.test(url)

const owners = new Map<string, number>()
let total = 0
for (const { size, nodeId } of profile.samples) {
  total += size
  let owner: string | null = null
  let pkg: string | null = null
  for (let n: Node | undefined = byId.get(nodeId); n; n = parent.get(n.id)) {
    const { url, functionName, lineNumber } = n.callFrame
    if (ours(url)) { owner = `ours: ${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`; break }
    pkg ??= pkgOf(url)
  }
  const key = owner ?? (pkg ? `package: ${pkg}` : `(${byId.get(nodeId)?.callFrame.functionName || 'runtime'})`)
  owners.set(key, (owners.get(key) ?? 0) + size)
}
const units = Number(unitsArg ?? 0)
console.log(`${(total / 1e6).toFixed(1)} MB allocated${units ? `, ${(total / units / 1e3).toFixed(1)} KB per unit` : ''}`)
for (const [key, size] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) {
  console.log(`${(100 * size / total).toFixed(1).padStart(5)}% ${(size / 1e6).toFixed(1).padStart(7)} MB${units ? ` ${(size / units / 1e3).toFixed(2).padStart(6)} KB` : ''}  ${key}`)
}
