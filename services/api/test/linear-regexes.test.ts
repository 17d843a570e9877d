/**
 * Every regular expression of the project runs in linear time, whatever string it is given: a
 * backtracking regex on a caller's URL or body is a way to stall a process's event loop with a
 * handful of requests. The regexes are collected from the source (each literal, each `RegExp` of a
 * literal, each schema `pattern`), from the modules that build them at run time, and from the api's
 * route schemas as served; each is checked by recheck (static analysis, no timing).
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'acorn'
import { simple } from 'acorn-walk'
import { transformSync } from 'esbuild'
import { check } from 'recheck'
import { NAME_PATTERN } from '@ghl-connect/access-tokens'
import { loadApiConfig } from '@ghl-connect/config'
import { CLIENT_ID_PATTERN } from '@ghl-connect/connect-links'
import { locationNeedPatterns } from '@ghl-connect/ghl'
import { createLogger } from '@ghl-connect/logging'
import { testEnv } from '@ghl-connect/testing'
import { buildApp } from '../src/app.ts'
import { createRuntime } from '../src/runtime.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

interface FoundRegex { where: string, source: string, flags: string }

/**
 * Files that build a regex from a value (not a literal), and the regexes they build: a new such
 * file fails the test until it is listed here.
 */
const BUILT_AT_RUN_TIME: Record<string, () => RegExp[]> = {
  'packages/ghl/src/proxy-paths.ts': locationNeedPatterns,
  'packages/cli/src/args.ts': () => [new RegExp(CLIENT_ID_PATTERN)],
  'packages/access-tokens/src/client-access-tokens.ts': () => [new RegExp(NAME_PATTERN)],
}

function * sourceFiles (dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      if (name !== 'node_modules' && name !== 'generated') yield * sourceFiles(path)
    } else if (/\.(?:ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) {
      yield path
    }
  }
}

const sourceRoots = () => ['packages', 'services'].flatMap((group) =>
  readdirSync(join(ROOT, group)).map((name) => join(ROOT, group, name, 'src')).filter((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory()))

/** Regex literals, `RegExp('literal')` and schema `pattern: 'literal'` of one file; `dynamic`: a RegExp built from a value. */
function regexesIn (file: string): { found: FoundRegex[], dynamic: boolean } {
  const where = relative(ROOT, file)
  const js = transformSync(readFileSync(file, 'utf8'), { loader: file.endsWith('ts') ? 'ts' : 'js', format: 'esm', target: 'esnext' }).code
  const found: FoundRegex[] = []
  let dynamic = false
  const constructed = (node: { callee: { type: string, name?: string }, arguments: Array<{ type: string, value?: unknown, quasis?: Array<{ value: { cooked: string } }>, expressions?: unknown[] }> }) => {
    if (node.callee.type !== 'Identifier' || node.callee.name !== 'RegExp') return
    const [pattern, flags] = node.arguments
    const literal = pattern?.type === 'Literal' && typeof pattern.value === 'string'
      ? pattern.value
      : pattern?.type === 'TemplateLiteral' && pattern.expressions!.length === 0 ? pattern.quasis![0]!.value.cooked : undefined
    const flagText = flags === undefined ? '' : flags.type === 'Literal' && typeof flags.value === 'string' ? flags.value : undefined
    if (literal === undefined || flagText === undefined) dynamic = true
    else found.push({ where, source: literal, flags: flagText })
  }
  simple(parse(js, { ecmaVersion: 'latest', sourceType: 'module' }), {
    Literal (node) {
      const { regex } = node as { regex?: { pattern: string, flags: string } }
      if (regex) found.push({ where, source: regex.pattern, flags: regex.flags })
    },
    NewExpression: (node) => constructed(node as never),
    CallExpression: (node) => constructed(node as never),
    Property (node) {
      // JSON-schema `pattern`s (TypeBox, route schemas): ajv compiles them with the `u` flag.
      const key = node.key.type === 'Identifier' ? node.key.name : node.key.type === 'Literal' ? node.key.value : undefined
      if (key === 'pattern' && node.value.type === 'Literal' && typeof node.value.value === 'string') found.push({ where, source: node.value.value, flags: 'u' })
    },
  })
  return { found, dynamic }
}

/** Every `pattern` in a schema document. */
function schemaPatterns (value: unknown, where: string, out: FoundRegex[] = []): FoundRegex[] {
  if (Array.isArray(value)) for (const v of value) schemaPatterns(v, where, out)
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'pattern' && typeof v === 'string') out.push({ where, source: v, flags: 'u' })
      else schemaPatterns(v, where, out)
    }
  }
  return out
}

/** The api's route schemas as it serves them (/docs/json); built, not started: no database is needed. */
async function routeSchemas (): Promise<unknown> {
  const runtime = createRuntime(loadApiConfig(testEnv({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })), createLogger({ level: 'silent' }))
  const app = await buildApp(runtime)
  try {
    await app.ready()
    return app.swagger()
  } finally {
    await app.close()
  }
}

/** recheck's verdict for each distinct regex: `safe` only when proven (or, with lookarounds, not refuted by its seeded fuzzer). */
async function verdicts (regexes: FoundRegex[]) {
  const distinct = new Map<string, FoundRegex[]>()
  for (const r of regexes) {
    const key = `/${r.source}/${r.flags}`
    distinct.set(key, [...(distinct.get(key) ?? []), r])
  }
  return Promise.all([...distinct].map(async ([key, uses]) => {
    const diagnostics = await check(uses[0]!.source, uses[0]!.flags, { timeout: null })
    return { key, where: [...new Set(uses.map((u) => u.where))], diagnostics }
  }))
}

t.test('the checker finds the redaction regex that backtracked on `eyJ-` repeated (issue 19)', async (t) => {
  const [old] = await verdicts([{ where: 'the redaction regex before the fix', source: String.raw`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*`, flags: 'g' }])
  t.equal(old!.diagnostics.status, 'vulnerable')
  t.match(old!.diagnostics, { complexity: { type: 'polynomial' } })
})

t.test('every regex in the source, built at run time, or in a route schema runs in linear time', async (t) => {
  const regexes: FoundRegex[] = []
  const builtFromValues: string[] = []
  for (const root of sourceRoots()) {
    for (const file of sourceFiles(root)) {
      const { found, dynamic } = regexesIn(file)
      regexes.push(...found)
      if (dynamic) builtFromValues.push(relative(ROOT, file))
    }
  }
  t.same(builtFromValues.filter((f) => !BUILT_AT_RUN_TIME[f]), [], 'each file that builds a regex from a value lists what it builds in BUILT_AT_RUN_TIME')
  for (const [where, built] of Object.entries(BUILT_AT_RUN_TIME)) {
    for (const regex of built()) regexes.push({ where, source: regex.source, flags: regex.flags })
  }
  regexes.push(...schemaPatterns(await routeSchemas(), 'the api\'s route schemas'))
  t.ok(regexes.length > 50, `${regexes.length} regexes collected`)
  t.ok(regexes.some((r) => r.where === 'packages/logging/src/index.ts'), 'the log redaction is among them')

  const unsafe = (await verdicts(regexes)).filter((v) => v.diagnostics.status !== 'safe').map((v) => ({
    regex: v.key,
    where: v.where,
    status: v.diagnostics.status,
    complexity: v.diagnostics.status === 'vulnerable' ? v.diagnostics.complexity.summary : undefined,
    attack: v.diagnostics.status === 'vulnerable' ? v.diagnostics.attack.pattern : undefined,
    error: v.diagnostics.status === 'unknown' ? v.diagnostics.error : undefined,
  }))
  t.same(unsafe, [], 'no regex is vulnerable (or beyond the checker)')
})
