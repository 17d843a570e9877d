/**
 * The workspace's import graph, read from the source text: which source file imports which.
 * A small lexer finds the module names (static `import`/`export ... from`, side-effect `import '...'`,
 * dynamic `import('...')`, type-only imports included: a reader follows those arrows too) without
 * being fooled by comments, strings, templates or regular expressions; names resolve as Node and
 * tsx resolve them here (relative paths with .ts/.js/index.ts, workspace packages by "name" and
 * "exports"). No regular expression: nothing here can backtrack.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/** Where the workspace's source files live (tests, fixtures and build output are not sources). */
const SOURCE_ROOTS = ['packages/*/src', 'packages/*/scripts', 'services/*/src', 'services/*/scripts', 'bench/src']
const PACKAGE_DIRS = ['packages/*', 'services/*', 'bench']

export interface ImportEdge { from: string, to: string, specifier: string }

export interface ImportGraph {
  /** Source files, relative to the root, '/'-separated. */
  files: string[]
  /** Imports between workspace files (a source file to any file of the workspace). */
  edges: ImportEdge[]
  /** Relative or workspace names that resolve to no file: a broken import, or a gap in this reader. */
  unresolved: ImportEdge[]
}

// ---- the lexer: module names out of TypeScript text ----

const isIdentChar = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '$'
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r'
/** After these words a '/' starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await'])

type Token = { kind: 'word' | 'string' | 'punct', text: string }

/** The words, string literals and punctuation of `source`, without comments, template text or regex bodies. */
export function tokenize (source: string): Token[] {
  const tokens: Token[] = []
  /** Open `${` of templates, each with the depth of braces inside it. */
  const templates: number[] = []
  let i = 0
  const n = source.length
  const last = () => tokens[tokens.length - 1]
  const regexMayStart = () => {
    const prev = last()
    if (!prev) return true
    if (prev.kind === 'word') return REGEX_AFTER_WORD.has(prev.text)
    if (prev.kind === 'string') return false
    return prev.text !== ')' && prev.text !== ']' && prev.text !== '}'
  }
  /** Skips a template literal's text from i (after '`' or '}'), stopping after '`' or at '${'. */
  const templateText = () => {
    while (i < n) {
      const c = source[i]!
      if (c === '\\') { i += 2; continue }
      if (c === '`') { i++; return }
      if (c === '$' && source[i + 1] === '{') { i += 2; templates.push(0); return }
      i++
    }
  }
  while (i < n) {
    const c = source[i]!
    if (isSpace(c)) { i++; continue }
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++
      continue
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2)
      i = end < 0 ? n : end + 2
      continue
    }
    if (c === '\'' || c === '"') {
      let text = ''
      i++
      while (i < n && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\') { text += source[i + 1] ?? ''; i += 2; continue }
        text += source[i]
        i++
      }
      i++
      tokens.push({ kind: 'string', text })
      continue
    }
    if (c === '`') {
      i++
      templateText()
      tokens.push({ kind: 'string', text: '' })
      continue
    }
    if (c === '/' && regexMayStart()) {
      let inClass = false
      i++
      while (i < n && source[i] !== '\n') {
        const r = source[i]!
        if (r === '\\') { i += 2; continue }
        if (r === '[') inClass = true
        else if (r === ']') inClass = false
        else if (r === '/' && !inClass) break
        i++
      }
      i++
      while (i < n && isIdentChar(source[i]!)) i++
      tokens.push({ kind: 'string', text: '' })
      continue
    }
    if (isIdentChar(c)) {
      const start = i
      while (i < n && isIdentChar(source[i]!)) i++
      tokens.push({ kind: 'word', text: source.slice(start, i) })
      continue
    }
    if (templates.length > 0) {
      if (c === '{') templates[templates.length - 1]!++
      if (c === '}') {
        if (templates[templates.length - 1] === 0) {
          templates.pop()
          i++
          templateText()
          continue
        }
        templates[templates.length - 1]!--
      }
    }
    tokens.push({ kind: 'punct', text: c })
    i++
  }
  return tokens
}

/** The module names `source` imports or re-exports from, statically or dynamically. */
export function importedNames (source: string): string[] {
  const tokens = tokenize(source)
  const names: string[] = []
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!
    if (t.kind !== 'word') continue
    const next = tokens[k + 1]
    const afterDot = tokens[k - 1]?.text === '.'
    if (afterDot || !next) continue
    // import x from 'm', export { x } from 'm', import type { T } from 'm'
    if (t.text === 'from' && next.kind === 'string') names.push(next.text)
    // import 'm' (side effects only)
    else if (t.text === 'import' && next.kind === 'string') names.push(next.text)
    // import('m'), and the type position import('m').T
    else if (t.text === 'import' && next.text === '(' && tokens[k + 2]?.kind === 'string') names.push(tokens[k + 2]!.text)
  }
  return names
}

// ---- the files and how names resolve ----

/** Expands 'a/*' (one level) into the directories that exist. */
function expand (root: string, pattern: string): string[] {
  const parts = pattern.split('/')
  let dirs = [root]
  for (const part of parts) {
    dirs = dirs.flatMap((dir) => part === '*'
      ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'node_modules').map((e) => join(dir, e.name))
      : [join(dir, part)].filter((d) => existsSync(d) && statSync(d).isDirectory()))
  }
  return dirs
}

const isTestFile = (name: string) => name.endsWith('.test.ts') || name.endsWith('.d.ts')

function tsFilesUnder (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'test' ? [] : tsFilesUnder(path)
    return e.name.endsWith('.ts') && !isTestFile(e.name) ? [path] : []
  })
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile()

/** A relative import: the file itself, its .ts twin of a .js name, name.ts, or name/index.ts. */
function resolvePath (base: string): string | undefined {
  const candidates = [base]
  if (base.endsWith('.js')) candidates.push(`${base.slice(0, -3)}.ts`)
  candidates.push(`${base}.ts`, join(base, 'index.ts'))
  return candidates.find(isFile)
}

interface WorkspacePackage { dir: string, exports: Record<string, unknown> }

function workspacePackages (root: string): Map<string, WorkspacePackage> {
  const packages = new Map<string, WorkspacePackage>()
  for (const dir of PACKAGE_DIRS.flatMap((p) => expand(root, p))) {
    const file = join(dir, 'package.json')
    if (!isFile(file)) continue
    const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string, exports?: unknown, main?: string }
    if (!json.name) continue
    const exports = typeof json.exports === 'string' || json.exports === undefined
      ? { '.': json.exports ?? json.main ?? './index.ts' }
      : json.exports as Record<string, unknown>
    packages.set(json.name, { dir, exports })
  }
  return packages
}

/** An "exports" entry's target: a path, or the first of its conditions that points at a file. */
function exportTargets (entry: unknown): string[] {
  if (typeof entry === 'string') return [entry]
  if (entry && typeof entry === 'object') return Object.values(entry).flatMap(exportTargets)
  return []
}

/** A built package's `dist/x.js` (or `.d.ts`) stands for its `src/x.ts` when it was not built. */
const sourceOfBuilt = (target: string) => {
  if (!target.startsWith('./dist/')) return target
  const inner = target.slice('./dist/'.length)
  const stem = inner.endsWith('.d.ts') ? inner.slice(0, -5) : inner.endsWith('.js') ? inner.slice(0, -3) : inner
  return `./src/${stem}.ts`
}

function resolvePackage (packages: Map<string, WorkspacePackage>, specifier: string): string | undefined | null {
  const parts = specifier.split('/')
  const nameLength = specifier.startsWith('@') ? 2 : 1
  const pkg = packages.get(parts.slice(0, nameLength).join('/'))
  if (!pkg) return null // not a workspace package: node:*, or a dependency from npm
  const subpath = ['.', ...parts.slice(nameLength)].join('/')
  for (const target of exportTargets(pkg.exports[subpath])) {
    const file = resolvePath(join(pkg.dir, target)) ?? resolvePath(join(pkg.dir, sourceOfBuilt(target)))
    if (file) return file
  }
  return undefined
}

export function readImportGraph (root: string): ImportGraph {
  const packages = workspacePackages(root)
  const sources = SOURCE_ROOTS.flatMap((p) => expand(root, p)).flatMap(tsFilesUnder)
  const rel = (path: string) => relative(root, path).split('\\').join('/')
  const edges: ImportEdge[] = []
  const unresolved: ImportEdge[] = []
  for (const file of sources) {
    for (const specifier of importedNames(readFileSync(file, 'utf8'))) {
      const target = specifier.startsWith('.')
        ? resolvePath(resolve(dirname(file), specifier))
        : resolvePackage(packages, specifier)
      if (target === null) continue
      if (target === undefined) unresolved.push({ from: rel(file), to: '?', specifier })
      else edges.push({ from: rel(file), to: rel(target), specifier })
    }
  }
  return { files: sources.map(rel).sort(), edges, unresolved }
}

// ---- what the rules ask of the graph ----

/** Imports from a package's source into a service: a shared library must not depend on an app. */
export const arrowsBackUp = (graph: ImportGraph): ImportEdge[] =>
  graph.edges.filter((e) => e.from.startsWith('packages/') && e.to.startsWith('services/'))

/** Every circle among the source files (Tarjan's strongly connected components), each with the imports that close it. */
export function importCircles (graph: ImportGraph): Array<{ files: string[], edges: ImportEdge[] }> {
  const sources = new Set(graph.files)
  const out = new Map<string, ImportEdge[]>()
  for (const e of graph.edges) {
    if (!sources.has(e.to)) continue
    out.set(e.from, [...(out.get(e.from) ?? []), e])
  }
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const circles: Array<{ files: string[], edges: ImportEdge[] }> = []
  // Recursion depth is bounded by the longest import chain, a few dozen files.
  const visit = (file: string) => {
    index.set(file, index.size)
    low.set(file, index.get(file)!)
    stack.push(file)
    onStack.add(file)
    for (const { to } of out.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to)
        low.set(file, Math.min(low.get(file)!, low.get(to)!))
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    for (;;) {
      const member = stack.pop()!
      onStack.delete(member)
      component.push(member)
      if (member === file) break
    }
    const members = new Set(component)
    const inside = component.flatMap((f) => (out.get(f) ?? []).filter((e) => members.has(e.to)))
    if (inside.length > 0) circles.push({ files: component.sort(), edges: inside })
  }
  for (const file of graph.files) if (!index.has(file)) visit(file)
  return circles
}
