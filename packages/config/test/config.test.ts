import t from 'tap'
import { ConfigError, loadApiConfig, loadSandboxConfig } from '../src/index.ts'

const key = (id: string) => `${id}:${Buffer.alloc(32, 7).toString('base64')}`
const complete = {
  TOKEN_ENCRYPTION_KEYS: key('k1'),
  GHL_CLIENT_ID: 'client-id',
  GHL_CLIENT_SECRET: 'client-secret-value',
  GHL_APP_ID: 'app-id',
  API_KEYS: 'a'.repeat(32),
  CONNECT_LINK_SECRET: 'c'.repeat(32),
  COOKIE_SECRET: 'k'.repeat(32),
  ADMIN_PASSWORD: 'p'.repeat(16),
}

function problemsOf (env: Record<string, string>): string[] {
  try {
    loadApiConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('a complete environment loads with local defaults for every address', async (t) => {
  const config = loadApiConfig(complete)
  t.equal(config.database.url, 'postgres://postgres@127.0.0.1:5432/ghl_connect')
  t.equal(config.redis.url, 'redis://127.0.0.1:6379')
  t.equal(config.ghl.apiBaseUrl, 'http://localhost:4010')
  t.equal(config.ghl.redirectUri, 'http://localhost:3000/api/ghl-oauth/callback')
  t.equal(config.encryption.keys[0]?.id, 'k1')
  t.equal(config.tokens.refreshWindowMs, 300_000)
})

t.test('without TOKEN_ENCRYPTION_KEYS the start fails naming the variable', async (t) => {
  const { TOKEN_ENCRYPTION_KEYS: _, ...env } = complete
  const problems = problemsOf(env)
  t.equal(problems.length, 1)
  t.match(problems[0], /^TOKEN_ENCRYPTION_KEYS is required/)
})

t.test('malformed encryption keys are each named, without echoing key material', async (t) => {
  const problems = problemsOf({ ...complete, TOKEN_ENCRYPTION_KEYS: `k1:c2hvcnQ=,${key('k1')},nocolon` })
  t.same(problems.map((p) => p.split(' ')[0]), ['TOKEN_ENCRYPTION_KEYS', 'TOKEN_ENCRYPTION_KEYS'])
  t.match(problems.join('\n'), /key "k1" is not the base64 of exactly 32 bytes/)
  t.match(problems.join('\n'), /entry 3 has no valid key id/)
  t.notMatch(problems.join('\n'), /c2hvcnQ/)
})

t.test('every missing secret is listed at once, and a bad URL is named', async (t) => {
  const problems = problemsOf({ DATABASE_URL: 'not a url' })
  const names = problems.map((p) => p.split(' ')[0])
  t.same(names.sort(), ['ADMIN_PASSWORD', 'API_KEYS', 'CONNECT_LINK_SECRET', 'COOKIE_SECRET', 'DATABASE_URL',
    'GHL_APP_ID', 'GHL_CLIENT_ID', 'GHL_CLIENT_SECRET', 'TOKEN_ENCRYPTION_KEYS'])
})

t.test('short secrets and a half-configured CRM webhook are refused', async (t) => {
  const problems = problemsOf({ ...complete, COOKIE_SECRET: 'short', CRM_WEBHOOK_URL: 'https://crm.example/hook' })
  t.match(problems.join('\n'), /COOKIE_SECRET must be at least 32 characters/)
  t.match(problems.join('\n'), /CRM_WEBHOOK_SECRET is required/)
})

t.test('the sandbox needs only its own section', async (t) => {
  const config = loadSandboxConfig({ GHL_CLIENT_ID: 'id', GHL_CLIENT_SECRET: 'secret-123', GHL_APP_ID: 'app' })
  t.equal(config.sandbox.port, 4010)
  t.equal(config.sandbox.accessTokenTtlSeconds, 86_399)
})
