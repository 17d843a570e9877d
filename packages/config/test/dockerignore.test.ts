/**
 * The image is built from the repository folder, where a developer's .env (secrets) sits: the
 * build context must not carry any env file but the example. Read as Docker reads .dockerignore
 * (moby/patternmatcher): paths from the context root, `**` any number of folders, `*` and `?`
 * within one name, `!` re-includes, the last matching line wins, and a folder's exclusion covers
 * what is inside it.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const rules = readFileSync(fileURLToPath(new URL('../../../.dockerignore', import.meta.url)), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  .map((line) => {
    const include = line.startsWith('!')
    const pattern = (include ? line.slice(1) : line).replace(/^\/+/, '')
    let source = ''
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!
      if (c === '*' && pattern[i + 1] === '*') {
        const slash = pattern[i + 2] === '/'
        source += slash ? '(?:.*/)?' : '.*'
        i += slash ? 2 : 1
      } else if (c === '*') source += '[^/]*'
      else if (c === '?') source += '[^/]'
      else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
    return { include, matches: new RegExp(`^${source}$`) }
  })

/** Whether `path` (from the context root) is left out of the build context. */
function excluded (path: string): boolean {
  const parts = path.split('/')
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
  let out = false
  for (const rule of rules) if (candidates.some((c) => rule.matches.test(c))) out = !rule.include
  return out
}

t.test('.dockerignore keeps every env file out of the build context but .env.example', async (t) => {
  for (const path of ['.env', 'a.env', 'x/b.env', 'services/api/.env', '.env.local', 'packages/config/.env.production', 'deep/er/prod.env']) {
    t.ok(excluded(path), `${path} is left out`)
  }
  t.notOk(excluded('.env.example'), '.env.example is sent (it documents the variables)')
  for (const path of ['package.json', 'pnpm-lock.yaml', 'services/api/src/app.ts', 'packages/config/src/index.ts', 'bench/package.json', 'scripts/build.mjs']) {
    t.notOk(excluded(path), `${path} is sent`)
  }
  for (const path of ['node_modules/x/index.js', 'services/api/dist/server.js', 'services/api/test/app.test.ts', 'bench/src/bench.ts', '.git/HEAD']) {
    t.ok(excluded(path), `${path} is left out`)
  }
})
