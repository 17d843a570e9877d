/**
 * Machine routes authenticate with `Authorization: Bearer <credential>`, one of two kinds:
 * - the CRM's API key: every machine route, for every client. Keys are compared as SHA-256
 *   digests in constant time, so neither content nor length leaks;
 * - a client access token (packages/access-tokens): only the routes whose config declares
 *   `clientToken` (the scope the route needs and where the request names its client), only with
 *   that scope, only for the token's own client. Anything else answers 403 insufficient_scope or
 *   wrong_client, here, so no route checks a token's reach on its own.
 * A good credential then spends one request of its own budget (per API key, or per token), and
 * the rest of the request logs under the key's name or the token's id and name, so the audit
 * lines say who asked, never the credential.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isAccessTokenShaped, type ClientAccessTokens, type Scope, type VerifiedAccessToken } from '@ghl-connect/access-tokens'
import type { ApiKey } from '@ghl-connect/config'
import { forbidden, tooManyRequests, unauthorized } from '@ghl-connect/errors'
import { sameDigest, secretDigest } from '@ghl-connect/secrets'
import type { ApiKeyRateLimit } from '../../security/api-key-rate-limit.ts'

/** The client ids a request names: one, several (a batch), or none (the route then uses the token's own). */
type NamedClients = string | readonly string[] | null | undefined

/** What a client access token may do on a route; a route without it is for the API key alone. */
export interface ClientTokenAccess {
  /** The scope the route needs; null when the route checks finer itself (MCP: per tool). */
  scope: Scope | null
  /** Where the request names the client it acts for: `params.clientId`, `body.clientId`, or a lookup (the resource it names). */
  client: 'params' | 'body' | ((request: FastifyRequest) => NamedClients | Promise<NamedClients>)
}

export type Caller = { kind: 'apiKey', name: string } | { kind: 'clientToken', token: VerifiedAccessToken }

declare module 'fastify' {
  interface FastifyInstance {
    /** The machine routes' authentication (the API key, or a client access token where the route allows one). */
    requireApiKey: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    /** Who authenticated this request (machine routes only). */
    caller: Caller | null
  }
  interface FastifyContextConfig {
    clientToken?: ClientTokenAccess
  }
}

export interface ApiKeyAuthOptions {
  apiKeys: ApiKey[]
  rateLimit: ApiKeyRateLimit
  accessTokens: ClientAccessTokens
  clientTokenRateLimit: ApiKeyRateLimit
}

export default fp(async function apiKeyAuth (fastify: FastifyInstance, opts: ApiKeyAuthOptions) {
  const known = opts.apiKeys.map((k) => ({ name: k.name, digest: secretDigest(k.key) }))
  fastify.decorateRequest('caller', null)

  const apiKeyNamed = (credential: string): string => {
    const presented = secretDigest(credential)
    // Every key compared every time, so which key matched does not show in the timing.
    let name: string | null = null
    for (const k of known) if (sameDigest(k.digest, presented)) name ??= k.name
    if (name === null) throw unauthorized('invalid_api_key', 'The API key is not valid; check API_KEYS on the server and the key your CRM sends.')
    return name
  }

  const authenticate = async (request: FastifyRequest): Promise<Caller> => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match) throw unauthorized('missing_api_key', 'Send your API key as "Authorization: Bearer <key>".')
    return isAccessTokenShaped(match[1]!)
      ? { kind: 'clientToken', token: await opts.accessTokens.verify(match[1]!) }
      : { kind: 'apiKey', name: apiKeyNamed(match[1]!) }
  }

  /** The route and scope a token asks for, known before the body is read. */
  const checkRoute = (request: FastifyRequest, token: VerifiedAccessToken) => {
    const access = request.routeOptions.config.clientToken
    if (!access) {
      throw forbidden('insufficient_scope', `A client access token cannot call ${request.method} ${request.routeOptions.url ?? request.url}: it needs the CRM's API key.`)
    }
    if (access.scope !== null && !token.scopes.has(access.scope)) {
      throw forbidden('insufficient_scope', `This access token lacks the scope "${access.scope}" ${request.method} ${request.routeOptions.url ?? request.url} needs; ask the CRM for a token with it.`)
    }
  }

  fastify.decorate('requireApiKey', async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = await authenticate(request)
    request.caller = caller
    // Added to the request's own logger (pino's child per request), not a further child: cheaper on the hot path.
    request.log.setBindings(caller.kind === 'apiKey'
      ? { apiKey: caller.name }
      : { clientToken: { id: caller.token.id, name: caller.token.name, clientId: caller.token.clientId } })
    const budget = caller.kind === 'apiKey' ? await opts.rateLimit.spend(caller.name) : await opts.clientTokenRateLimit.spend(caller.token.id)
    if (budget) {
      reply.header('x-ratelimit-limit', budget.max).header('x-ratelimit-remaining', budget.remaining)
      if (!budget.allowed) {
        const who = caller.kind === 'apiKey'
          ? `the API key "${caller.name}" (at most ${budget.max} per window, API_RATE_LIMIT_MAX)`
          : `the access token "${caller.token.name}" (at most ${budget.max} per window, CLIENT_TOKEN_RATE_LIMIT_MAX)`
        throw tooManyRequests('rate_limited', `Too many requests with ${who}; try again in ${budget.retryAfterSeconds} seconds.`, budget.retryAfterSeconds)
      }
    }
    if (caller.kind === 'clientToken') checkRoute(request, caller.token)
  })

  // The OpenAPI document says which routes a token may call, and with which scope.
  fastify.addHook('onRoute', (route) => {
    const access = route.config?.clientToken
    // A GET's HEAD route shares its schema: said once.
    if (!access || !route.schema || route.schema.hide || route.schema.security?.some((s) => 'clientToken' in s)) return
    route.schema.security = [...(route.schema.security ?? []), { clientToken: [] }]
    route.schema.description = [route.schema.description,
      `A client access token may call it${access.scope ? ` with the scope \`${access.scope}\`` : ''}, for its own client only.`].filter(Boolean).join(' ')
  })

  // The client a token's request acts for: after validation, so a body or the resource it names can tell.
  fastify.addHook('preHandler', async (request) => {
    if (request.caller?.kind !== 'clientToken') return
    const { token } = request.caller
    const access = request.routeOptions.config.clientToken!
    const named = access.client === 'params' ? (request.params as { clientId?: string }).clientId
      : access.client === 'body' ? (request.body as { clientId?: string }).clientId
        : await access.client(request)
    if ((typeof named === 'string' ? [named] : named ?? []).some((clientId) => clientId !== token.clientId)) {
      throw forbidden('wrong_client', `This access token acts for client "${token.clientId}" only; the request names another client.`)
    }
  })
}, { name: 'api-key-auth' })
