import { transformSync } from 'esbuild'
import { parse } from 'acorn'
import { simple } from 'acorn-walk'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { check } from 'recheck'
function* files(dir) { for (const n of readdirSync(dir)) { const p = join(dir, n); if (statSync(p).isDirectory()) { if (n !== 'node_modules' && n !== 'test' && n!=='generated') yield* files(p) } else if (/\.(ts|mjs|js)$/.test(n) && !n.endsWith('.d.ts')) yield p } }
const roots = [...readdirSync('packages').map(p => `packages/${p}/src`), ...readdirSync('services').map(p => `services/${p}/src`)]
const found = []
for (const root of roots) { try { statSync(root) } catch { continue }
  for (const f of files(root)) {
    const js = transformSync(readFileSync(f, 'utf8'), { loader: f.endsWith('.ts') ? 'ts' : 'js', format: 'esm', target: 'esnext' }).code
    const ast = parse(js, { ecmaVersion: 'latest', sourceType: 'module' })
    simple(ast, {
      Literal(n) { if (n.regex) found.push({ f, src: n.regex.pattern, flags: n.regex.flags }) },
      NewExpression(n) { if (n.callee.name === 'RegExp') found.push({ f, dyn: js.slice(n.start, n.end) }) },
      CallExpression(n) { if (n.callee.name === 'RegExp') found.push({ f, dyn: js.slice(n.start, n.end) }) },
      Property(n) { if ((n.key.name ?? n.key.value) === 'pattern') found.push({ f, prop: js.slice(n.start, n.end) }) },
    })
  }
}
console.log(found.length)
for (const r of found) {
  if (r.src === undefined) { console.log('DYN', r.f, r.dyn ?? r.prop); continue }
  const res = await check(r.src, r.flags)
  if (res.status !== 'safe') console.log(res.status, res.checker, res.complexity?.summary, r.f, `/${r.src}/${r.flags}`)
}
