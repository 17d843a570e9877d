#!/usr/bin/env node
// Compiles one deployable package (run from its folder by its `build` script; `pnpm build` at the
// root runs them all): each entry is bundled by esbuild into dist/<name>.js, with the workspace
// packages (@ghl-connect/*, which export TypeScript sources) inside the bundle and every npm
// package left as an import, resolved at run time from the package's own node_modules.
// Because `pnpm deploy --prod` installs only `dependencies`, the build fails when the bundle
// imports an npm package the package does not list there, or when a bundled workspace package is
// listed there (it would ship its sources for nothing: list it in devDependencies).
// Use: node ../../scripts/build.mjs src/server.ts [more entries]
import { readFileSync, readdirSync, rmSync, existsSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { basename, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const entries = process.argv.slice(2)
if (entries.length === 0) {
  console.error('usage: node scripts/build.mjs <entry.ts> [more entries] (from the package folder)')
  process.exit(2)
}

const workspaceNames = new Set(['packages', 'services', 'bench'].flatMap((folder) => {
  const dir = join(root, folder)
  const manifests = folder === 'bench' ? [join(dir, 'package.json')] : readdirSync(dir).map((name) => join(dir, name, 'package.json'))
  return manifests.filter((file) => existsSync(file)).map((file) => JSON.parse(readFileSync(file, 'utf8')).name)
}))
const manifest = JSON.parse(readFileSync('package.json', 'utf8'))
const dependencies = new Set(Object.keys(manifest.dependencies ?? {}))

/** `@scope/name/sub/path` -> `@scope/name`, `name/sub` -> `name`. */
const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')

const imported = new Set()
const externalNpm = {
  name: 'external-npm-packages',
  setup (b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || isBuiltin(args.path)) return { external: true }
      const name = packageOf(args.path)
      if (workspaceNames.has(name)) return undefined // bundled: resolved to its TypeScript sources
      imported.add(name)
      return { external: true }
    })
  },
}

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: Object.fromEntries(entries.map((entry) => [basename(entry, extname(entry)), entry])),
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [externalNpm],
})

const problems = []
for (const name of [...imported].sort()) {
  if (!dependencies.has(name)) problems.push(`the bundle imports "${name}": add it to "dependencies" (with "catalog:" when the catalog has it)`)
}
for (const name of [...dependencies].sort()) {
  if (workspaceNames.has(name)) problems.push(`"${name}" is bundled into dist/: move it from "dependencies" to "devDependencies"`)
}
if (problems.length > 0) {
  console.error(`${manifest.name}: pnpm deploy --prod installs only "dependencies", so:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`${manifest.name}: ${entries.map((entry) => `dist/${basename(entry, extname(entry))}.js`).join(', ')} (imports at run time: ${[...imported].sort().join(', ') || 'nothing from npm'})`)
