/**
 * The documentation stays a map a newcomer can follow: README.md short, every relative link
 * landing on a file and heading that exist, and every route of the api documented for its reader.
 * docs/pending/ holds notes other work leaves for the lead to fold in; it is not checked.
 */
import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const README_MAX_LINES = 260
/** Every page the README must lead to: one per reader, the figures and their history. */
const REQUIRED_DOCS = ['crm-guide.md', 'operations.md', 'design.md', 'security.md', 'benchmarks.md', 'benchmarks-history.md']

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

function documentationFiles (): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)
  return ['README.md', ...docs]
}

/** The text outside fenced code blocks, line by line (a `# comment` in a shell sample is no heading). */
function proseLines (markdown: string): string[] {
  let fenced = false
  return markdown.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) { fenced = !fenced; return false }
    return !fenced
  })
}

/** GitHub's anchor for a heading: its rendered text, lowercased, punctuation dropped, spaces as hyphens. */
function slug (heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** The anchors a page offers, numbered the way GitHub numbers repeated headings. */
function anchors (markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!heading) continue
    const base = slug(heading[1]!)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    out.add(count === 0 ? base : `${base}-${count}`)
  }
  return out
}

/** Relative link targets of a page, outside code (inline code spans and fences). */
function relativeLinks (markdown: string): string[] {
  const links: string[] = []
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, '')
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
      links.push(target)
    }
  }
  return links
}

t.test(`README.md has at most ${README_MAX_LINES} lines: what it is, the two commands, the picture, the map and links`, async (t) => {
  const lines = read('README.md').replace(/\n$/, '').split('\n').length
  t.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move detail to the page of its reader in docs/`)
})

t.test('every relative link in README.md and docs/*.md reaches a file, and a heading when it names one; README links every page of docs/', async (t) => {
  const broken: string[] = []
  for (const file of documentationFiles()) {
    for (const link of relativeLinks(read(file))) {
      const [path, fragment] = link.split('#') as [string, string | undefined]
      const target = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path))
      if (!existsSync(target)) { broken.push(`${file}: ${link} (no such file)`); continue }
      if (fragment === undefined || !target.endsWith('.md')) continue
      if (!anchors(readFileSync(target, 'utf8')).has(decodeURIComponent(fragment).toLowerCase())) {
        broken.push(`${file}: ${link} (no heading #${fragment} in ${relative(ROOT, target)})`)
      }
    }
  }
  t.same(broken, [], 'no broken link')

  const fromReadme = new Set(relativeLinks(read('README.md')).map((link) => link.split('#')[0]))
  const pages = new Set([...documentationFiles().filter((file) => file !== 'README.md'), ...REQUIRED_DOCS.map((name) => `docs/${name}`)])
  const unlinked = [...pages].filter((page) => !fromReadme.has(page))
  t.same(unlinked, [], 'the README links every page of docs/ (one click to each)')
})

/** Routes an operator runs rather than a CRM calls: documented in docs/operations.md. */
const OPS_ROUTE = /^\/(healthz|readyz|metrics|docs|admin)(\/|$)/

t.test('every route of the api\'s OpenAPI document is named, with its method, in docs/crm-guide.md (ops routes: docs/operations.md)', async (t) => {
  // packages/client/openapi.json is the api's document: packages/client/test/openapi-document.test.ts fails when it is stale.
  const doc = JSON.parse(read('packages/client/openapi.json')) as { paths: Record<string, Record<string, unknown>> }
  const guides = { crm: proseAndCode('docs/crm-guide.md'), ops: proseAndCode('docs/operations.md') }
  const missing: string[] = []
  let routes = 0
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) {
      routes++
      const guide = OPS_ROUTE.test(path) ? 'ops' : 'crm'
      if (!routeNamed(guides[guide], method, path)) missing.push(`${method.toUpperCase()} ${path} (in ${guide === 'ops' ? 'docs/operations.md' : 'docs/crm-guide.md'})`)
    }
  }
  t.ok(routes >= 15, 'the document lists the api\'s routes')
  t.same(missing, [], 'every route is documented for its reader')
})

function proseAndCode (file: string): string {
  return existsSync(join(ROOT, file)) ? read(file) : ''
}

/** `GET /api/sms/:id` or `GET /api/sms/{id}` names the document's `get /api/sms/{id}`; `/api/sms/` is `/api/sms`. */
function routeNamed (text: string, method: string, path: string): boolean {
  const pattern = path.replace(/\/$/, '').split(/(\{[^}]+\})/).map((part) => {
    const param = /^\{(.+)\}$/.exec(part)
    return param ? `(?::${param[1]}|\\{${param[1]}\\})` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }).join('')
  return new RegExp(`\\b${method.toUpperCase()} ${pattern}(?![\\w/{:-])`).test(text)
}
