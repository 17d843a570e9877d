/**
 * The one place that reads the environment. Every process asks for the sections it needs;
 * a missing or malformed variable stops the process with a message naming it.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { signingKey } from '@ghl-connect/crm-events'

type Env = Record<string, string | undefined>

export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor (readonly problems: string[]) {
    super(`Configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
      'See .env.example for the format of each variable.')
  }
}

/** HighLevel's documented daily budget per location per app: the base of GAP_FILL_BUDGET_PERCENT. */
export const GHL_DAILY_CALLS = 200_000

const str = (dflt?: string) => (dflt === undefined ? z.string().trim().min(1) : z.string().trim().min(1).default(dflt))
const int = (dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(dflt)
/** true/false, 1/0, yes/no, on/off, y/n, enabled/disabled, in any case. */
const bool = (dflt: boolean) => z.stringbool({ error: 'must be true or false (1/0, yes/no and on/off are read too)' }).default(dflt)
const url = (dflt?: string) => str(dflt).pipe(z.url({
  protocol: /^(https?|postgres(ql)?|rediss?)$/,
  error: 'is not a valid URL (http(s)://, postgres:// or redis:// expected)',
}))
const secret = (minLength: number, hint: string) =>
  z.string({ error: `is required (${hint})` }).trim().min(minLength, `must be at least ${minLength} characters (${hint})`)

/** `id:base64` entries, comma-separated; the first one encrypts, all of them decrypt. */
export interface EncryptionKey { id: string, key: Buffer }
const encryptionKeys = z.string({ error: 'is required: comma-separated <keyId>:<base64 of 32 random bytes>, primary first (openssl rand -base64 32)' })
  .trim()
  .transform((value, ctx) => {
    const keys: EncryptionKey[] = []
    value.split(',').map((s) => s.trim()).forEach((entry, index) => {
      const sep = entry.indexOf(':')
      const id = sep > 0 ? entry.slice(0, sep) : ''
      const material = sep > 0 ? entry.slice(sep + 1) : ''
      const key = Buffer.from(material, 'base64')
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1} has no valid key id: expected <keyId>:<base64>, keyId of letters, digits, _ or -` })
      } else if (key.length !== 32 || key.toString('base64').replace(/={1,2}$/, '') !== material.replace(/={1,2}$/, '')) {
        ctx.addIssue({ code: 'custom', message: `key "${id}" is not the base64 of exactly 32 bytes (openssl rand -base64 32)` })
      } else if (keys.some((k) => k.id === id)) {
        ctx.addIssue({ code: 'custom', message: `key id "${id}" appears twice` })
      } else {
        keys.push({ id, key })
      }
    })
    return keys
  })

/**
 * Variables more than one section reads, each with its one parser: a section spreads the piece it
 * needs into its shape (load() names a bad value once however many sections read it).
 */
const appUrl = {
  /** Where browsers and HighLevel reach the api; links, page origins and the OAuth redirect derive from it. */
  APP_URL: url('http://localhost:3000').transform((v) => v.replace(/\/$/, '')),
}
/** What minting a connect link needs: the api mints them, and so does the CLI (`pnpm ghl links create`). */
const connectLinkVars = {
  ...appUrl,
  /** Unset: APP_URL's origin (the CRM page and the api on one host, as locally). */
  CRM_ORIGIN: url().optional(),
  CONNECT_LINK_SECRET: secret(32, 'signs connect links; openssl rand -hex 32'),
}
const crmOriginOf = (e: { APP_URL: string, CRM_ORIGIN?: string }) => new URL(e.CRM_ORIGIN ?? e.APP_URL).origin
/** The HighLevel marketplace app: the api and the worker act as it, the sandbox accepts it. */
const ghlApp = {
  GHL_CLIENT_ID: z.string({ error: 'is required: the client id of your HighLevel marketplace app' }).trim().min(1),
  GHL_CLIENT_SECRET: secret(8, 'the client secret of your HighLevel marketplace app'),
  GHL_APP_ID: z.string({ error: 'is required: the id of your HighLevel marketplace app (webhooks name it as appId)' }).trim().min(1),
}
const ghlAppOf = (e: z.output<z.ZodObject<typeof ghlApp>>) => ({ clientId: e.GHL_CLIENT_ID, clientSecret: e.GHL_CLIENT_SECRET, appId: e.GHL_APP_ID })
/** Who may scrape /metrics (the api's and the worker's): unset, anyone who reaches the port. */
const metricsAccess = {
  METRICS_TOKEN: z.string().trim().min(24, 'must be at least 24 characters (openssl rand -hex 32), or unset').optional(),
}

/**
 * API keys, comma-separated, each `name:key` or a bare key. The name is what logs and rate limits
 * see (never the key); a bare key (no ':' in it) is named by a short fingerprint of itself,
 * `key-<8 hex of its SHA-256>`, which says nothing usable about the key.
 */
export interface ApiKey { name: string, key: string }
const API_KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/
const MIN_API_KEY_LENGTH = 24
/** packages/access-tokens' ACCESS_TOKEN_PREFIX (config depends on no package of ours). */
const CLIENT_TOKEN_PREFIX = 'gct_'
const apiKeys = z.string({ error: 'is required: comma-separated API keys the CRM sends as Bearer tokens, each <name>:<key> or a bare key (openssl rand -hex 32)' })
  .transform((value, ctx) => {
    const keys: ApiKey[] = []
    const entries = value.split(',').map((s) => s.trim()).filter(Boolean)
    if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one key' })
    entries.forEach((entry, index) => {
      const sep = entry.indexOf(':')
      const named = sep > 0 && API_KEY_NAME.test(entry.slice(0, sep))
      const key = named ? entry.slice(sep + 1) : entry
      const name = named ? entry.slice(0, sep) : `key-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`
      if (key.length < MIN_API_KEY_LENGTH) {
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: each API key must be at least ${MIN_API_KEY_LENGTH} characters` })
      } else if (key.startsWith(CLIENT_TOKEN_PREFIX)) {
        // The api reads a credential with this prefix as a client access token, never as a key.
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: an API key must not start with "${CLIENT_TOKEN_PREFIX}", the prefix of client access tokens` })
      } else if (keys.some((k) => k.name === name)) {
        ctx.addIssue({ code: 'custom', message: `the name "${name}" is given to two keys` })
      } else {
        keys.push({ name, key })
      }
    })
    return keys
  })

const sections = {
  runtime: z.object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).transform((e) => ({ nodeEnv: e.NODE_ENV, logLevel: e.LOG_LEVEL })),

  database: z.object({
    DATABASE_URL: url('postgres://postgres@127.0.0.1:5432/ghl_connect'),
    DATABASE_POOL_SIZE: int(10, 1, 200),
    // PgBouncer in pool_mode=transaction (or any pooler that lends a server connection per transaction)
    DATABASE_TRANSACTION_POOLER: bool(false),
  }).transform((e) => ({ url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, transactionPooler: e.DATABASE_TRANSACTION_POOLER })),

  redis: z.object({
    REDIS_URL: url('redis://127.0.0.1:6379'),
    REDIS_KEY_PREFIX: z.string().trim().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or - only').default('ghl'),
    // Set: every process talks to this Redis Cluster (seed nodes; the rest are discovered) and REDIS_URL is ignored.
    REDIS_CLUSTER_NODES: z.string().trim().default('').transform((value, ctx) => {
      const nodes: Array<{ host: string, port: number }> = []
      for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        const sep = entry.lastIndexOf(':')
        const host = entry.slice(0, sep)
        const port = Number(entry.slice(sep + 1))
        if (sep <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
          ctx.addIssue({ code: 'custom', message: `entry "${entry}" is not host:port (comma-separated seed nodes of the cluster, e.g. 10.0.0.1:6379,10.0.0.2:6379)` })
        } else {
          nodes.push({ host, port })
        }
      }
      return nodes
    }),
  }).transform((e) => ({ url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, clusterNodes: e.REDIS_CLUSTER_NODES })),

  encryption: z.object({ TOKEN_ENCRYPTION_KEYS: encryptionKeys })
    .transform((e) => ({ keys: e.TOKEN_ENCRYPTION_KEYS })),

  tokens: z.object({
    TOKEN_REFRESH_WINDOW_SECONDS: int(300, 0),
    TOKEN_SWEEP_EVERY_SECONDS: int(300, 5),
    TOKEN_SWEEP_HORIZON_SECONDS: int(600, 60),
    TOKEN_CALL_TIMEOUT_MS: int(30_000, 1000, 120_000),
    AGENCY_REFRESH_DAYS: int(30, 1, 300),
  }).transform((e) => ({
    refreshWindowMs: e.TOKEN_REFRESH_WINDOW_SECONDS * 1000,
    sweepEveryMs: e.TOKEN_SWEEP_EVERY_SECONDS * 1000,
    sweepHorizonMs: e.TOKEN_SWEEP_HORIZON_SECONDS * 1000,
    // Its own, longer than GHL_HTTP_TIMEOUT_MS: an answer given up on is a spent refresh token lost.
    callTimeoutMs: e.TOKEN_CALL_TIMEOUT_MS,
    // An agency's refresh token dies after a year unused: the sweep renews one unused this long.
    agencyRefreshMs: e.AGENCY_REFRESH_DAYS * 24 * 3600_000,
  })),

  ghl: z.object({
    ...ghlApp,
    ...appUrl,
    GHL_REDIRECT_URI: url().optional(),
    GHL_SCOPES: str('conversations/message.write conversations/message.readonly conversations.readonly contacts.readonly contacts.write locations.readonly opportunities.readonly calendars.readonly calendars/events.readonly oauth.readonly oauth.write'),
    GHL_AUTH_BASE_URL: url('http://localhost:4010'),
    GHL_API_BASE_URL: url('http://localhost:4010'),
    GHL_HTTP_TIMEOUT_MS: int(10_000, 100, 120_000),
    GHL_RATE_LIMIT_MAX: int(90, 1, 100_000),
    GHL_RATE_LIMIT_INTERVAL_MS: int(10_000, 100, 86_400_000),
  }).transform((e) => ({
    ...ghlAppOf(e),
    redirectUri: e.GHL_REDIRECT_URI ?? `${e.APP_URL}/api/ghl-oauth/callback`,
    scopes: e.GHL_SCOPES.split(/\s+/).filter(Boolean),
    authBaseUrl: e.GHL_AUTH_BASE_URL.replace(/\/$/, ''),
    apiBaseUrl: e.GHL_API_BASE_URL.replace(/\/$/, ''),
    httpTimeoutMs: e.GHL_HTTP_TIMEOUT_MS,
    /** Our share of HighLevel's 100 requests per 10 s per location, shared by every worker and the api's proxy. */
    locationRateLimit: { max: e.GHL_RATE_LIMIT_MAX, intervalMs: e.GHL_RATE_LIMIT_INTERVAL_MS },
  })),

  http: z.object({
    PORT: int(3000, 0, 65535),
    HOST: str('0.0.0.0'),
    ...connectLinkVars,
    API_KEYS: apiKeys,
    COOKIE_SECRET: secret(32, 'signs the OAuth state cookie; openssl rand -hex 32'),
    ADMIN_USER: str('admin'),
    ADMIN_PASSWORD: secret(12, 'protects Bull Board at /admin/queues'),
    ADMIN_READ_ONLY: bool(true),
    GHL_WEBHOOK_PUBLIC_KEY: str('MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg='),
    OAUTH_RATE_LIMIT_MAX: int(10, 1),
    OAUTH_RATE_LIMIT_ADDRESS_MAX: int(300, 1),
    OAUTH_RATE_LIMIT_WINDOW_SECONDS: int(900, 1),
    API_RATE_LIMIT_MAX: int(6000, 1),
    API_RATE_LIMIT_WINDOW_SECONDS: int(60, 1),
    CLIENT_TOKEN_RATE_LIMIT_MAX: int(600, 1),
    CLIENT_TOKEN_RATE_LIMIT_WINDOW_SECONDS: int(60, 1),
    ...metricsAccess,
    METRICS_REFRESH_SECONDS: int(15, 1, 3600),
    ALLOW_UNSIGNED_CONNECT: bool(false),
    BODY_LIMIT_BYTES: int(16_384, 1024, 10_485_760),
    SMS_BATCH_BODY_LIMIT_BYTES: int(8_388_608, 16_384, 33_554_432),
    GHL_PROXY_BODY_LIMIT_BYTES: int(1_048_576, 1024, 10_485_760),
    GHL_PROXY_MAX_WAIT_MS: int(10_000, 0, 120_000),
    GHL_PROXY_RETRIES: int(2, 0, 5),
    GHL_PROXY_CONNECTIONS: int(512, 1, 65_536),
    TRUST_PROXY: z.string().trim().default('false')
      .refine((v) => v === 'false' || v === 'true' || /^[0-9a-fA-F.:/,\s]+$/.test(v),
        'must be false, true, or comma-separated addresses/CIDRs of your proxies'),
  }).transform((e) => ({
    port: e.PORT,
    host: e.HOST,
    appUrl: e.APP_URL,
    crmOrigin: crmOriginOf(e),
    apiKeys: e.API_KEYS,
    connectLinkSecret: e.CONNECT_LINK_SECRET,
    cookieSecret: e.COOKIE_SECRET,
    admin: { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD, readOnly: e.ADMIN_READ_ONLY },
    ghlWebhookPublicKey: e.GHL_WEBHOOK_PUBLIC_KEY,
    /** Browser routes (authorize, callback, /connect): `max` per link (or OAuth state), `addressMax` per client address. */
    oauthRateLimit: { max: e.OAUTH_RATE_LIMIT_MAX, addressMax: e.OAUTH_RATE_LIMIT_ADDRESS_MAX, windowMs: e.OAUTH_RATE_LIMIT_WINDOW_SECONDS * 1000 },
    /** Machine routes: per API key, counted once the key is known good. */
    apiRateLimit: { max: e.API_RATE_LIMIT_MAX, windowMs: e.API_RATE_LIMIT_WINDOW_SECONDS * 1000 },
    /** Routes a client access token may call: per token, counted once the token is known good. */
    clientTokenRateLimit: { max: e.CLIENT_TOKEN_RATE_LIMIT_MAX, windowMs: e.CLIENT_TOKEN_RATE_LIMIT_WINDOW_SECONDS * 1000 },
    metrics: { token: e.METRICS_TOKEN ?? null, refreshMs: e.METRICS_REFRESH_SECONDS * 1000 },
    allowUnsignedConnect: e.ALLOW_UNSIGNED_CONNECT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    /** POST /api/sms/batch only: 1,000 messages of 1,600 characters need more than one message's limit. */
    smsBatchBodyLimitBytes: e.SMS_BATCH_BODY_LIMIT_BYTES,
    /**
     * /api/ghl/*: the largest body passed on, how long a call waits for the location's rate-limit slot,
     * retries of a GET/HEAD/PUT/DELETE; `connections`: HighLevel sockets the api opens at most per
     * HighLevel host (proxy, MCP, connect flow), more calls waiting for one.
     */
    ghlProxy: { bodyLimitBytes: e.GHL_PROXY_BODY_LIMIT_BYTES, maxWaitMs: e.GHL_PROXY_MAX_WAIT_MS, retries: e.GHL_PROXY_RETRIES, connections: e.GHL_PROXY_CONNECTIONS },
    // Which X-Forwarded-For entries to believe for the client's address (the browser routes' rate
    // limit is per address): trusting every hop would let a caller pick its own address.
    trustProxy: e.TRUST_PROXY === 'false' ? false : e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY,
  })),

  // Client access tokens (packages/access-tokens): the api checks them, the api and the CLI mint them.
  // Their hashes are keyed with CONNECT_LINK_SECRET under a purpose label of their own, as install
  // claim codes are: one secret less to generate and hand to both; rotating it revokes every token.
  accessTokens: z.object({
    CONNECT_LINK_SECRET: connectLinkVars.CONNECT_LINK_SECRET,
    CLIENT_TOKEN_MAX_LIFETIME_DAYS: int(365, 1, 3650),
  }).transform((e) => ({
    hashSecret: e.CONNECT_LINK_SECRET,
    maxLifetimeSeconds: e.CLIENT_TOKEN_MAX_LIFETIME_DAYS * 86_400,
  })),

  connectLinks: z.object(connectLinkVars).transform((e) => ({
    secret: e.CONNECT_LINK_SECRET, appUrl: e.APP_URL, crmOrigin: crmOriginOf(e),
  })),

  worker: z.object({
    // 100, measured (docs/benchmarks.md, the worker's concurrency): the send path's group writes
    // take the jobs running together in one statement, so more at once costs less per SMS
    // (10: 437 SMS/s, 100: 1,035 on one process); and a HighLevel call of ~0.2 s caps 10 at ~50 SMS/s.
    WORKER_CONCURRENCY: int(100, 1, 1000),
    // Deprecated: SMS are retried for SMS_RETRY_FOR_SECONDS, not a number of attempts. Still
    // parsed so a value left in an .env is not silently taken for something it no longer does.
    SMS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
    WORKER_HEALTH_PORT: int(0, 0, 65535),
    WORKER_SHUTDOWN_TIMEOUT_MS: int(25_000, 1000),
    SMS_RETRY_BASE_MS: int(2000, 10, 600_000),
    OUTBOX_RECONCILE_EVERY_SECONDS: int(60, 1, 86_400),
    OUTBOX_RECONCILE_AFTER_SECONDS: int(60, 0, 86_400),
    ...metricsAccess,
    SMS_RETRY_FOR_SECONDS: int(3600, 0, 7 * 86_400),
    SMS_VERIFY_SETTLE_SECONDS: int(30, 0, 3600),
    SMS_VERIFY_FOR_SECONDS: int(86_400, 1, 30 * 86_400),
    RETENTION_SMS_DAYS: int(90, 1, 36_500),
    RETENTION_EVENTS_DAYS: int(30, 1, 36_500),
    RETENTION_WEBHOOK_RECEIPTS_DAYS: int(30, 1, 36_500),
    RETENTION_EVERY_SECONDS: int(3600, 60, 7 * 86_400),
    RETENTION_BATCH_SIZE: int(1000, 1, 100_000),
    GAP_FILL_DAYS: int(7, 1, 90),
    GAP_FILL_EVERY_SECONDS: int(60, 1, 86_400),
    GAP_FILL_BUDGET_PERCENT: z.coerce.number().min(0.01).max(100).default(1),
    DELIVERY_STATUS_TIMEOUT_SECONDS: int(1800, 1, 7 * 86_400),
  }).transform((e) => ({
    concurrency: e.WORKER_CONCURRENCY,
    /** Set in the environment though nothing reads it any more: the worker warns at start. */
    smsMaxAttemptsIgnored: e.SMS_MAX_ATTEMPTS !== undefined,
    healthPort: e.WORKER_HEALTH_PORT,
    shutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_MS,
    smsRetryBaseMs: e.SMS_RETRY_BASE_MS,
    reconcileEveryMs: e.OUTBOX_RECONCILE_EVERY_SECONDS * 1000,
    reconcileAfterMs: e.OUTBOX_RECONCILE_AFTER_SECONDS * 1000,
    metricsToken: e.METRICS_TOKEN ?? null,
    /** 5xx and network failures are retried (backoff, jitter) this long from the first one; 429s never count. */
    smsRetryForMs: e.SMS_RETRY_FOR_SECONDS * 1000,
    /** How long HighLevel gets to list an SMS it took before "not found" means it was not sent. */
    smsVerifySettleMs: e.SMS_VERIFY_SETTLE_SECONDS * 1000,
    /** How long an SMS whose outcome is unknown is asked about before it is reported delivery_unknown. */
    smsVerifyForMs: e.SMS_VERIFY_FOR_SECONDS * 1000,
    /** Sent/failed SMS, delivered CRM events and webhook receipts older than these go, a batch at a time. */
    retention: {
      smsDays: e.RETENTION_SMS_DAYS,
      eventsDays: e.RETENTION_EVENTS_DAYS,
      webhookReceiptsDays: e.RETENTION_WEBHOOK_RECEIPTS_DAYS,
      everyMs: e.RETENTION_EVERY_SECONDS * 1000,
      batchSize: e.RETENTION_BATCH_SIZE,
    },
    /**
     * Reading HighLevel's message export for replies and delivery statuses no webhook brought:
     * locations with traffic in the last `days`, every `everyMs`, each spending at most
     * `callsPerDay` (GAP_FILL_BUDGET_PERCENT of HighLevel's 200,000 calls a day per location).
     * A delivery status still pending after `deliveryTimeoutMs` is asked for by id, then `unknown`.
     */
    gapFill: {
      days: e.GAP_FILL_DAYS,
      everyMs: e.GAP_FILL_EVERY_SECONDS * 1000,
      callsPerDay: Math.max(1, Math.floor(GHL_DAILY_CALLS * e.GAP_FILL_BUDGET_PERCENT / 100)),
      deliveryTimeoutMs: e.DELIVERY_STATUS_TIMEOUT_SECONDS * 1000,
      /** A message younger than this is left to its webhook (HighLevel sends them within seconds). */
      graceMs: 30_000,
    },
  })),

  crmEvents: z.object({
    CRM_WEBHOOK_URL: url().optional(),
    CRM_WEBHOOK_SECRET: z.string().trim().optional(),
  }).superRefine((e, ctx) => {
    if (e.CRM_WEBHOOK_URL && (!e.CRM_WEBHOOK_SECRET || e.CRM_WEBHOOK_SECRET.length < 32)) {
      ctx.addIssue({ code: 'custom', path: ['CRM_WEBHOOK_SECRET'], message: 'is required (at least 32 characters) when CRM_WEBHOOK_URL is set; it signs the events' })
    } else if (e.CRM_WEBHOOK_URL && e.CRM_WEBHOOK_SECRET) {
      // The worker would fail on every event with it: refused at start instead.
      try { signingKey(e.CRM_WEBHOOK_SECRET) } catch (err) { ctx.addIssue({ code: 'custom', path: ['CRM_WEBHOOK_SECRET'], message: (err as Error).message }) }
    }
  }).transform((e) => (e.CRM_WEBHOOK_URL ? { url: e.CRM_WEBHOOK_URL, secret: e.CRM_WEBHOOK_SECRET ?? '' } : null)),

  legacyPit: z.object({
    GHL_LEGACY_PIT_TOKEN: z.string().trim().optional(),
    GHL_LEGACY_LOCATION_ID: z.string().trim().optional(),
    GHL_LEGACY_PIT_FALLBACK: bool(false),
  }).superRefine((e, ctx) => {
    if (e.GHL_LEGACY_PIT_FALLBACK && !(e.GHL_LEGACY_PIT_TOKEN && e.GHL_LEGACY_LOCATION_ID)) {
      ctx.addIssue({ code: 'custom', path: ['GHL_LEGACY_PIT_FALLBACK'], message: 'is on, so GHL_LEGACY_PIT_TOKEN and GHL_LEGACY_LOCATION_ID must both be set' })
    }
  }).transform((e) => (e.GHL_LEGACY_PIT_FALLBACK && e.GHL_LEGACY_PIT_TOKEN && e.GHL_LEGACY_LOCATION_ID
    ? { token: e.GHL_LEGACY_PIT_TOKEN, locationId: e.GHL_LEGACY_LOCATION_ID }
    : null)),

  sandbox: z.object({
    SANDBOX_PORT: int(4010, 0, 65535),
    SANDBOX_HOST: str('0.0.0.0'),
    SANDBOX_ACCESS_TOKEN_TTL_SECONDS: int(86_399, 1),
    SANDBOX_AUTO_APPROVE: bool(false),
    SANDBOX_WEBHOOK_PRIVATE_KEY: z.string().trim().optional(),
    SANDBOX_REDIRECT_URIS: z.string().trim().optional()
      .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []))
      .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must list http(s) URLs, comma-separated' }))),
    SANDBOX_CODE_TTL_SECONDS: int(600, 1),
    SANDBOX_STATE_FILE: z.string().trim().optional(),
    SANDBOX_MESSAGE_WEBHOOK_URL: url().optional(),
    SANDBOX_DELIVERY_REPORTS: bool(false),
    ...ghlApp,
  }).transform((e) => ({
    port: e.SANDBOX_PORT,
    host: e.SANDBOX_HOST,
    accessTokenTtlSeconds: e.SANDBOX_ACCESS_TOKEN_TTL_SECONDS,
    autoApprove: e.SANDBOX_AUTO_APPROVE,
    webhookPrivateKey: e.SANDBOX_WEBHOOK_PRIVATE_KEY,
    redirectUris: e.SANDBOX_REDIRECT_URIS,
    codeTtlSeconds: e.SANDBOX_CODE_TTL_SECONDS,
    stateFile: e.SANDBOX_STATE_FILE,
    messageWebhooks: { webhookUrl: e.SANDBOX_MESSAGE_WEBHOOK_URL ?? null, auto: e.SANDBOX_DELIVERY_REPORTS },
    ...ghlAppOf(e),
  })),
} as const

type Sections = typeof sections
type SectionName = keyof Sections
type Loaded<K extends SectionName> = { [P in K]: z.output<Sections[P]> }

/**
 * An empty or blank value means unset, for every variable: .env.example lists optional variables
 * as `NAME=`, and a copy of it must start (defaults apply, a required one is named as missing).
 */
function withoutEmptyValues (env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''))
}

function load<K extends SectionName> (names: readonly K[], given: Env): Loaded<K> {
  const env = withoutEmptyValues(given)
  const problems: string[] = []
  const out: Partial<Record<SectionName, unknown>> = {}
  for (const name of names) {
    const result = sections[name].safeParse(env)
    if (result.success) {
      out[name] = result.data
    } else {
      for (const issue of result.error.issues) {
        const variable = String(issue.path[0] ?? name)
        const line = `${variable} ${issue.message}`
        if (!problems.includes(line)) problems.push(line)
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return out as Loaded<K>
}

const apiSections = ['runtime', 'database', 'redis', 'encryption', 'tokens', 'ghl', 'http', 'crmEvents', 'legacyPit', 'accessTokens'] as const
const workerSections = ['runtime', 'database', 'redis', 'encryption', 'tokens', 'ghl', 'worker', 'crmEvents', 'legacyPit'] as const

/** The ops CLI: what createCore needs (it queues SMS and CRM events) and what minting a connect link needs. */
const cliSections = ['runtime', 'database', 'redis', 'encryption', 'tokens', 'ghl', 'crmEvents', 'connectLinks', 'accessTokens'] as const

export type ApiConfig = Loaded<(typeof apiSections)[number]>
export type CliConfig = Loaded<(typeof cliSections)[number]>
export type WorkerConfig = Loaded<(typeof workerSections)[number]>
export type DatabaseConfig = z.output<Sections['database']>
export type RedisConfig = z.output<Sections['redis']>
export type GhlConfig = z.output<Sections['ghl']>
export type TokensConfig = z.output<Sections['tokens']>
export type AccessTokensConfig = z.output<Sections['accessTokens']>
export type SandboxConfig = Loaded<'runtime' | 'sandbox'>
export type MigrateConfig = Loaded<'runtime' | 'database'>
export type RotateKeysConfig = Loaded<'runtime' | 'database' | 'encryption'>

export const loadApiConfig = (env: Env = process.env): ApiConfig => load(apiSections, env)
export const loadWorkerConfig = (env: Env = process.env): WorkerConfig => load(workerSections, env)
export const loadCliConfig = (env: Env = process.env): CliConfig => load(cliSections, env)
export const loadSandboxConfig = (env: Env = process.env): SandboxConfig => load(['runtime', 'sandbox'], env)
export const loadMigrateConfig = (env: Env = process.env): MigrateConfig => load(['runtime', 'database'], env)
export const loadRotateKeysConfig = (env: Env = process.env): RotateKeysConfig =>
  load(['runtime', 'database', 'encryption'], env)

/**
 * Entry points call this: prints the problems without a stack trace and exits,
 * so an operator reads which variable to fix and nothing else.
 */
export function loadOrExit<T> (loader: (env: Env) => T, env: Env = process.env): T {
  try {
    return loader(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }
}
