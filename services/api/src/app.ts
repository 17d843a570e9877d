/**
 * Builds the api: external plugins, then app plugins, then routes, then the one error handler
 * and not-found handler (registered first so every route inherits them).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type RawServerDefault } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import cookie from '@fastify/cookie'
import { randomUUID } from 'node:crypto'
import { AppError } from '@ghl-connect/errors'
import type { Runtime } from './runtime.ts'
import errorHandler, { malformedUrl, sendError } from './plugins/app/error-handler.ts'
import apiKeyAuth from './plugins/app/api-key-auth.ts'
import requestLine from './plugins/app/request-line.ts'
import { ApiKeyRateLimit } from './security/api-key-rate-limit.ts'
import rateLimit from './plugins/external/rate-limit.ts'
import bullBoard from './plugins/external/bull-board.ts'
import apiDocs from './plugins/external/swagger.ts'
import metrics from './plugins/app/metrics.ts'
import health from './routes/health.ts'
import ghlOAuth from './routes/ghl-oauth/index.ts'
import webhooks from './routes/webhooks/index.ts'
import conversations from './routes/conversations/index.ts'
import connect from './routes/connect.ts'
import sms from './routes/sms/index.ts'
import email from './routes/email/index.ts'
import ghlProxy from './routes/ghl-proxy/index.ts'
import mcp from './routes/mcp.ts'
import clients from './routes/clients/index.ts'
import accessTokens from './routes/clients/access-tokens.ts'
import adminConnections from './routes/admin-connections.ts'

declare module 'fastify' {
  interface FastifyInstance {
    runtime: Runtime
  }
}

const MAX_PATH_PARAM_LENGTH = 3 * 128 + 64
/**
 * No route takes a URL this long (the longest, a signed connect link with a return URL, is under
 * 4,000 characters): a longer one is refused before any work, and logged by its length only.
 */
export const MAX_URL_LENGTH = 8192

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>

export async function buildApp (runtime: Runtime): Promise<App> {
  const { config } = runtime
  const app = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    bodyLimit: config.http.bodyLimitBytes,
    // false | true | proxy addresses, from one variable: fastify's overloads need telling
    trustProxy: config.http.trustProxy as string,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID()
    },
    // A path parameter is at most a 128-character client id, which a CRM may percent-encode
    // (3 characters each); Fastify's default of 100 answered 414 to ids the schema allows.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // One line per request (below), not Fastify's two: on the intake's hot path logging is a
    // measurable share of the CPU (docs/benchmarks.md). Through the log controller: Fastify 5
    // deprecates the top-level disableRequestLogging option (FSTDEP023).
    logController: new LogController({ disableRequestLogging: true }),
    // The router refuses a malformed URL (bad percent-encoding, a path part past maxParamLength)
    // before any hook or the error handler runs: answer it through the same path, not Fastify's.
    frameworkErrors: (err, _request, reply) => { void sendError(reply as unknown as FastifyReply, malformedUrl(err)) },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('runtime', runtime)
  app.addHook('onRequest', async (request) => {
    if (request.url.length > MAX_URL_LENGTH) {
      throw new AppError(414, 'url_too_long', `The URL is longer than ${MAX_URL_LENGTH} characters; send long data in a body instead.`)
    }
  })
  // Machine routes log under the API key's name from authentication on (api-key-auth), so the
  // request's line says which key made the request.
  await app.register(requestLine, { maxUrlLength: MAX_URL_LENGTH })
  if (config.http.allowUnsignedConnect) {
    app.log.warn('ALLOW_UNSIGNED_CONNECT is on: anyone can connect a HighLevel account to any client id. Development only.')
  }
  await app.register(errorHandler)
  await app.register(apiDocs)
  await app.register(cookie, { secret: config.http.cookieSecret })
  await app.register(apiKeyAuth, {
    apiKeys: config.http.apiKeys,
    rateLimit: new ApiKeyRateLimit(runtime.redis, runtime.keys, config.http.apiRateLimit),
    accessTokens: runtime.accessTokens,
    clientTokenRateLimit: new ApiKeyRateLimit(runtime.redis, runtime.keys,
      { ...config.http.clientTokenRateLimit, redisKey: (id) => runtime.keys.clientTokenRateLimit(id) }),
  })

  await app.register(rateLimit)

  await app.register(health)
  await app.register(connect)
  await app.register(ghlOAuth, { prefix: '/api/ghl-oauth' })
  await app.register(webhooks, { prefix: '/api/ghl-oauth' })
  await app.register(sms, { prefix: '/api/sms' })
  await app.register(email, { prefix: '/api/email' })
  await app.register(conversations, { prefix: '/api/conversations' })
  await app.register(ghlProxy, { prefix: '/api/ghl' })
  await app.register(mcp)
  await app.register(clients, { prefix: '/api/clients' })
  await app.register(accessTokens, { prefix: '/api/clients' })
  await app.register(metrics)
  await app.register(bullBoard)
  await app.register(adminConnections)

  app.addHook('onClose', async () => { await runtime.close() })
  return app
}
