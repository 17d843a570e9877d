/**
 * A local HighLevel for development, tests, demos and benchmarks: the consent page, the token
 * endpoint, the handful of API endpoints this project calls, rate limits, fault injection and an
 * inspection/control API. `buildSandbox` gives the app (not listening) and its control object.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { createLogger, redact, redactHeaders } from '@ghl-connect/logging'
import { Clock } from './clock.ts'
import type { SandboxContext } from './context.ts'
import { SandboxControl, type RecordedExchange } from './control.ts'
import { FaultBook } from './faults.ts'
import { MessageWebhooks, type MessageWebhookDefaults } from './message-webhooks.ts'
import { ghlErrorBody } from './http.ts'
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitSettings } from './rate-limiter.ts'
import { apiRoutes } from './routes/api.ts'
import { conversationRoutes } from './routes/conversations.ts'
import { consentRoutes } from './routes/consent.ts'
import { crmRoutes } from './routes/crm.ts'
import { controlRoutes } from './routes/control.ts'
import { installedLocationsRoute, tokenRoutes } from './routes/token.ts'
import { DEFAULT_SEED, type SeedData } from './seed.ts'
import { SandboxState } from './state.ts'
import { keepStateIn } from './state-file.ts'
import { WebhookSigner } from './webhooks.ts'

export const DEFAULT_SCOPES = ['conversations/message.write', 'conversations/message.readonly', 'conversations.readonly', 'contacts.readonly', 'contacts.write', 'locations.readonly',
  'opportunities.readonly', 'calendars.readonly', 'calendars/events.readonly']

export interface SandboxOptions {
  /** The one app the sandbox knows (GHL_CLIENT_ID / GHL_CLIENT_SECRET). */
  clientId: string
  clientSecret: string
  /** Named as `appId` in webhooks (GHL_APP_ID). */
  appId?: string
  /** Registered redirect URIs; none = any http(s) URL, still bound to its code. */
  redirectUris?: string[]
  /** HighLevel: 86399. Tests make it small, or move the clock. */
  accessTokenTtlSeconds?: number
  codeTtlSeconds?: number
  /** Skip the consent page: redirect at once with a code for the first location (or `?location=`). */
  autoApprove?: boolean
  autoApproveLocationId?: string
  /** Granted when the authorize request names no scope. */
  defaultScopes?: string[]
  /** Ed25519 PKCS#8 PEM or base64 DER; a fresh pair when absent. */
  webhookPrivateKey?: string
  rateLimit?: Partial<RateLimitSettings>
  /** Locations and contacts to start with (and return to on reset); default: two locations and an agency install. */
  seed?: SeedData
  /** Keep every HighLevel-facing request and answer for contract checks, redacted as log lines are (@ghl-connect/logging). */
  record?: boolean
  /** Where InboundMessage / OutboundMessage go and whether a delivery report follows each send, from the start (and after a reset). */
  messageWebhooks?: MessageWebhookDefaults
  /** A JSON file the state is kept in across restarts (read at start, written after changes and on close); none = memory only. */
  stateFile?: string
  logger?: FastifyBaseLogger
  maxHangMs?: number
}

export interface Sandbox {
  app: FastifyInstance
  control: SandboxControl
}

function parseBody (payload: unknown): unknown {
  if (typeof payload !== 'string') return undefined
  try {
    return JSON.parse(payload)
  } catch {
    return payload
  }
}

export function buildSandbox (options: SandboxOptions): Sandbox {
  const clock = new Clock()
  const state = new SandboxState(clock, { accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 86_399, codeTtlSeconds: options.codeTtlSeconds ?? 600 })
  const signer = new WebhookSigner(options.webhookPrivateKey)
  const ctx: SandboxContext = {
    clock,
    state,
    faults: new FaultBook(),
    limiter: new RateLimiter(clock, { ...DEFAULT_RATE_LIMIT, ...options.rateLimit }),
    signer,
    settings: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      appId: options.appId ?? 'sandbox-app',
      redirectUris: options.redirectUris ?? [],
      autoApprove: options.autoApprove ?? false,
      autoApproveLocationId: options.autoApproveLocationId ?? null,
      defaultScopes: options.defaultScopes ?? DEFAULT_SCOPES,
      maxHangMs: options.maxHangMs ?? 5 * 60_000,
    },
    hangs: new Set(),
    afterAccept: new WeakMap(),
    held: { now: 0 },
    messageWebhooks: new MessageWebhooks({ state, clock, signer }, options.messageWebhooks),
  }
  const control = new SandboxControl(ctx, options.seed ?? DEFAULT_SEED)

  const app = Fastify({
    loggerInstance: options.logger ?? createLogger({ level: 'silent', name: 'ghl-sandbox' }),
    // Keep-alive sockets of a caller's pool must not hold up close().
    forceCloseConnections: true,
    // HighLevel ids and tokens are case-sensitive path parts; keep defaults otherwise.
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  if (options.record) {
    const payloads = new WeakMap<FastifyRequest, unknown>()
    const recordable = (url: string) => !url.startsWith('/_sandbox') && !url.includes('/chooselocation')
    app.addHook('onSend', async (request, _reply, payload) => {
      if (recordable(request.url)) payloads.set(request, payload)
      return payload
    })
    app.addHook('onResponse', async (request, reply) => {
      if (!recordable(request.url)) return
      const exchange: RecordedExchange = {
        method: request.method,
        url: request.url,
        headers: redactHeaders(request.headers),
        body: redact(request.body),
        response: { status: reply.statusCode, headers: redactHeaders(reply.getHeaders()), body: redact(parseBody(payloads.get(request))) },
      }
      control.recorded.push(exchange)
    })
  }

  app.addHook('preClose', async () => {
    for (const release of [...ctx.hangs]) release()
    ctx.messageWebhooks.reset()
  })

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status >= 500) request.log.error({ err }, 'sandbox failure')
    return reply.code(status).send(ghlErrorBody(status, status >= 500 ? 'Internal server error' : err.message))
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(ghlErrorBody(404, `Cannot ${request.method} ${request.url.split('?')[0]}`)))

  if (options.stateFile) keepStateIn(app, ctx.state, options.stateFile)

  consentRoutes(app, ctx)
  tokenRoutes(app, ctx)
  installedLocationsRoute(app, ctx)
  apiRoutes(app, ctx)
  conversationRoutes(app, ctx)
  crmRoutes(app, ctx)
  controlRoutes(app, control)

  return { app, control }
}
