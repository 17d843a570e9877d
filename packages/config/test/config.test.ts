import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { ConfigError, loadApiConfig, loadCliConfig, loadSandboxConfig, loadWorkerConfig } from '../src/index.ts'

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

t.test('REDIS_CLUSTER_NODES: empty means the one Redis; host:port entries become the cluster\'s seed nodes; a bad entry is named', async (t) => {
  t.same(loadApiConfig(complete).redis.clusterNodes, [], 'unset: REDIS_URL')
  t.same(loadApiConfig({ ...complete, REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b.internal:7001 ' }).redis.clusterNodes,
    [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b.internal', port: 7001 }])
  const problems = problemsOf({ ...complete, REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' })
  t.equal(problems.length, 1)
  t.match(problems[0], /REDIS_CLUSTER_NODES.*"10\.0\.0\.2" is not host:port/)
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

t.test('CRM_WEBHOOK_SECRET may be a Standard Webhooks whsec_ secret; a whsec_ secret that is not base64 of 24+ bytes is refused at start', async (t) => {
  const hook = { CRM_WEBHOOK_URL: 'https://crm.example/hook' }
  const whsec = `whsec_${Buffer.alloc(32, 9).toString('base64')}`
  t.same(loadApiConfig({ ...complete, ...hook, CRM_WEBHOOK_SECRET: whsec }).crmEvents, { url: hook.CRM_WEBHOOK_URL, secret: whsec })
  t.same(problemsOf({ ...complete, ...hook, CRM_WEBHOOK_SECRET: 'a plain secret of at least 32 characters' }), [])
  t.match(problemsOf({ ...complete, ...hook, CRM_WEBHOOK_SECRET: `whsec_${'!'.repeat(40)}` }).join('\n'), /CRM_WEBHOOK_SECRET .*whsec_ must be followed by standard base64/)
  t.match(problemsOf({ ...complete, ...hook, CRM_WEBHOOK_SECRET: `whsec_${Buffer.alloc(23).toString('base64')}` }).join('\n'), /at least 24 bytes/)
})

t.test('the sandbox needs only its own section', async (t) => {
  const config = loadSandboxConfig({ GHL_CLIENT_ID: 'id', GHL_CLIENT_SECRET: 'secret-123', GHL_APP_ID: 'app' })
  t.equal(config.sandbox.port, 4010)
  t.equal(config.sandbox.accessTokenTtlSeconds, 86_399)
})

t.test('a switch reads true/false, 1/0 and yes/no, and is off when unset', async (t) => {
  t.equal(loadApiConfig(complete).http.allowUnsignedConnect, false)
  for (const [value, on] of [['true', true], ['false', false], ['1', true], ['0', false], ['yes', true], ['no', false]] as const) {
    t.equal(loadApiConfig({ ...complete, ALLOW_UNSIGNED_CONNECT: value }).http.allowUnsignedConnect, on, value)
    t.equal(loadSandboxConfig({ ...complete, SANDBOX_AUTO_APPROVE: value }).sandbox.autoApprove, on, value)
  }
  t.match(problemsOf({ ...complete, ALLOW_UNSIGNED_CONNECT: 'maybe' }), [/^ALLOW_UNSIGNED_CONNECT must be true or false/])
})

t.test('one APP_URL: the api links and the OAuth redirect both derive from it', async (t) => {
  const config = loadApiConfig({ ...complete, APP_URL: 'https://connect.example/' })
  t.equal(config.http.appUrl, 'https://connect.example')
  t.equal(config.ghl.redirectUri, 'https://connect.example/api/ghl-oauth/callback')
  t.equal(loadApiConfig({ ...complete, APP_URL: 'https://connect.example', GHL_REDIRECT_URI: 'https://other.example/cb' }).ghl.redirectUri,
    'https://other.example/cb')
  t.same(problemsOf({ ...complete, APP_URL: 'not a url' }), ['APP_URL is not a valid URL (http(s)://, postgres:// or redis:// expected)'],
    'a bad APP_URL is named once')
})

t.test('CRM_ORIGIN follows APP_URL when unset, so the popup posts to a stack on any port', async (t) => {
  t.equal(loadApiConfig({ ...complete, APP_URL: 'http://localhost:3100/' }).http.crmOrigin, 'http://localhost:3100')
  t.equal(loadCliConfig({ ...complete, APP_URL: 'http://localhost:3100' }).connectLinks.crmOrigin, 'http://localhost:3100')
  t.equal(loadApiConfig({ ...complete, APP_URL: 'http://localhost:3100', CRM_ORIGIN: 'https://crm.example/app' }).http.crmOrigin, 'https://crm.example')
})

t.test('the sandbox keeps its state in a file and wires its message webhooks only when told to', async (t) => {
  const app = { GHL_CLIENT_ID: 'id', GHL_CLIENT_SECRET: 'secret-123', GHL_APP_ID: 'app' }
  t.same(loadSandboxConfig(app).sandbox, { ...loadSandboxConfig(app).sandbox, stateFile: undefined, messageWebhooks: { webhookUrl: null, auto: false } })
  const wired = loadSandboxConfig({ ...app, SANDBOX_STATE_FILE: '.data/sandbox-state.json', SANDBOX_MESSAGE_WEBHOOK_URL: 'http://localhost:3100/api/ghl-oauth/webhooks', SANDBOX_DELIVERY_REPORTS: 'true' })
  t.equal(wired.sandbox.stateFile, '.data/sandbox-state.json')
  t.same(wired.sandbox.messageWebhooks, { webhookUrl: 'http://localhost:3100/api/ghl-oauth/webhooks', auto: true })
})

t.test('the sandbox and the api read the HighLevel app credentials alike', async (t) => {
  const env = { ...complete, GHL_CLIENT_ID: 'the-client', GHL_CLIENT_SECRET: 'the-secret', GHL_APP_ID: 'the-app' }
  const { ghl } = loadApiConfig(env)
  const { sandbox } = loadSandboxConfig(env)
  t.same([sandbox.clientId, sandbox.clientSecret, sandbox.appId], [ghl.clientId, ghl.clientSecret, ghl.appId])
  t.same([ghl.clientId, ghl.clientSecret, ghl.appId], ['the-client', 'the-secret', 'the-app'])
  try {
    loadSandboxConfig({ GHL_CLIENT_SECRET: 'short' })
    t.fail('loaded without a client id')
  } catch (err) {
    const problems = (err as ConfigError).problems
    t.same(problems.map((p) => p.split(' ')[0]).sort(), ['GHL_APP_ID', 'GHL_CLIENT_ID', 'GHL_CLIENT_SECRET'])
  }
})

t.test('API keys may be named (name:key); a bare key is named by a fingerprint that does not reveal it', async (t) => {
  const bare = 'b'.repeat(40)
  const { http } = loadApiConfig({ ...complete, API_KEYS: ` crm-main:${'k'.repeat(32)} , ${bare}` })
  t.same(http.apiKeys[0], { name: 'crm-main', key: 'k'.repeat(32) })
  t.match(http.apiKeys[1], { name: /^key-[0-9a-f]{8}$/, key: bare })
  t.notMatch(http.apiKeys[1]!.name, 'bbbb')
  t.match(problemsOf({ ...complete, API_KEYS: `crm:${'a'.repeat(32)},crm:${'b'.repeat(32)}` }), [/^API_KEYS the name "crm" is given to two keys/])
  t.match(problemsOf({ ...complete, API_KEYS: 'crm:short' }), [/^API_KEYS entry 1: each API key must be at least 24 characters/])
  t.match(problemsOf({ ...complete, API_KEYS: ' , ' }), [/^API_KEYS needs at least one key/])
  t.match(problemsOf({ ...complete, API_KEYS: `crm:gct_${'a'.repeat(32)}` }), [/^API_KEYS entry 1: an API key must not start with "gct_", the prefix of client access tokens/])
})

t.test('the admin board is read-only and machine routes get a generous per-key budget unless configured otherwise', async (t) => {
  const { http } = loadApiConfig(complete)
  t.equal(http.admin.readOnly, true)
  t.same(http.apiRateLimit, { max: 6000, windowMs: 60_000 })
  t.same(http.clientTokenRateLimit, { max: 600, windowMs: 60_000 }, 'each client access token: a tenth of it')
  t.equal(loadApiConfig(complete).accessTokens.maxLifetimeSeconds, 365 * 86_400)
  t.match(problemsOf({ ...complete, CLIENT_TOKEN_MAX_LIFETIME_DAYS: '0' }), [/^CLIENT_TOKEN_MAX_LIFETIME_DAYS /])
  t.same(http.metrics, { token: null, refreshMs: 15_000 })
  t.equal(loadApiConfig({ ...complete, ADMIN_READ_ONLY: 'false' }).http.admin.readOnly, false)
  t.match(problemsOf({ ...complete, METRICS_TOKEN: 'short' }), [/^METRICS_TOKEN must be at least 24 characters/])
})

t.test('SMS retries are budgeted by time; SMS_MAX_ATTEMPTS is ignored and flagged for a warning; verification has its delays', async (t) => {
  const defaults = loadWorkerConfig(complete)
  t.match(defaults.worker, { smsRetryForMs: 3_600_000, smsVerifySettleMs: 30_000, smsVerifyForMs: 86_400_000, smsMaxAttemptsIgnored: false })
  t.ok(defaults.ghl.scopes.includes('conversations/message.readonly'), 'asking HighLevel whether an SMS went out is in the default scopes')
  const set = loadWorkerConfig({ ...complete, SMS_MAX_ATTEMPTS: '3', SMS_RETRY_FOR_SECONDS: '600', SMS_VERIFY_SETTLE_SECONDS: '5', SMS_VERIFY_FOR_SECONDS: '7200' })
  t.match(set.worker, { smsRetryForMs: 600_000, smsVerifySettleMs: 5000, smsVerifyForMs: 7_200_000, smsMaxAttemptsIgnored: true })
  t.notOk('smsMaxAttempts' in set.worker, 'nothing reads a count any more')
  t.throws(() => loadWorkerConfig({ ...complete, SMS_RETRY_FOR_SECONDS: 'an hour' }), /SMS_RETRY_FOR_SECONDS/)
})

const exampleEnv = (): Record<string, string> =>
  parseEnv(readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8')) as Record<string, string>
const required = Object.keys(complete)

t.test('a copy of .env.example with the REQUIRED values filled loads like those values alone', async (t) => {
  const example = exampleEnv()
  t.same(required.filter((name) => example[name] !== ''), [], '.env.example leaves every required value empty')
  const filled = { ...example, ...complete }
  t.same(loadApiConfig(filled), loadApiConfig(complete))
  t.same(loadWorkerConfig(filled), loadWorkerConfig(complete))
  t.same(loadSandboxConfig(filled), loadSandboxConfig(complete))
})

t.test('an empty or blank optional variable means unset, every one of them', async (t) => {
  const optional = Object.keys(exampleEnv()).filter((name) => !required.includes(name))
  t.ok(optional.includes('CRM_WEBHOOK_URL') && optional.includes('METRICS_TOKEN') && optional.includes('GHL_REDIRECT_URI'))
  const loaders = [loadApiConfig, loadWorkerConfig, loadSandboxConfig] as const
  const unset = loaders.map((load) => load(complete))
  for (const name of optional) {
    for (const value of ['', '  ']) {
      loaders.forEach((load, i) => t.same(load({ ...complete, [name]: value }), unset[i], `${name}=${JSON.stringify(value)}`))
    }
  }
})

t.test('an empty required variable is named as missing', async (t) => {
  for (const name of required) {
    for (const value of ['', ' ']) {
      t.match(problemsOf({ ...complete, [name]: value }), [new RegExp(`^${name} is required`)], `${name}=${JSON.stringify(value)}`)
    }
  }
})
