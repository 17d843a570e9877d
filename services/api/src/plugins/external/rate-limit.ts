import fp from 'fastify-plugin'
import { createHash } from 'node:crypto'
import rateLimit, { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { tooManyRequests } from '@ghl-connect/errors'

declare module 'fastify' {
  interface FastifyInstance {
    /** `config: { rateLimit: fastify.browserRateLimit }` on a route a person opens in a browser. */
    browserRateLimit: RateLimitOptions
  }
}

/**
 * The browser routes' limits (authorize, callback, /connect, agency pick), counted in Redis so
 * every api replica shares one count, two per request:
 * - per caller (OAUTH_RATE_LIMIT_MAX per window): the link's signature, else the OAuth state (the
 *   callback), else the agency pick token, else (an unsigned link) its client id, else the address.
 *   One visitor opening one link again and again locks out that link, nobody else's; and only who
 *   holds a link can spend its count (a client id alone, which may be guessed, cannot).
 * - per address (OAUTH_RATE_LIMIT_ADDRESS_MAX per window): a ceiling over everything one address
 *   sends, so inventing client ids buys no more than that. Behind a proxy without TRUST_PROXY every
 *   visitor has the proxy's address: they share only this generous ceiling, not the per-link limit.
 * One IPv6 host usually holds a whole /64, so an IPv6 address counts as its /64 and an IPv4-mapped
 * one as its IPv4. Machine routes are limited per API key instead (plugins/app/api-key-auth.ts).
 */
export const clientAddressBucket = (request: FastifyRequest): string => normalizeIP(request.ip, 64)

/** What the request carries that names its link; hashed, so Redis keeps no link signature or state. */
export function browserCallerBucket (request: FastifyRequest): string {
  const query = (request.query ?? {}) as Record<string, unknown>
  const body = (request.body ?? {}) as Record<string, unknown>
  const carried = [['link', query.sig], ['state', query.state], ['pick', body.pick], ['client', query.clientId]]
    .find(([, value]) => typeof value === 'string' && value !== '') as [string, string] | undefined
  if (!carried) return `address:${clientAddressBucket(request)}`
  return `${carried[0]}:${createHash('sha256').update(carried[1]).digest('base64url').slice(0, 22)}`
}

function tooFast (ttlMs: number) {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000))
  return tooManyRequests('rate_limited', `Too many requests; try again in ${seconds} seconds.`, seconds)
}

export default fp(async function rateLimitPlugin (fastify: FastifyInstance) {
  const { redis, keys, config } = fastify.runtime
  const { max, addressMax, windowMs } = config.http.oauthRateLimit
  await fastify.register(rateLimit, {
    global: false,
    redis,
    nameSpace: keys.rateLimitNamespace,
    // Redis down must not lock everyone out of the connect flow.
    skipOnError: true,
    errorResponseBuilder: (_request, context) => tooFast(context.ttl),
  })
  // After the body is read (the agency pick's token is in its form), before the handler.
  const perCaller: RateLimitOptions = { max, timeWindow: windowMs, keyGenerator: browserCallerBucket, hook: 'preValidation' }
  // A second limit on the same request: the plugin runs one limiter hook per request, so the
  // ceiling asks its limiter directly.
  const ceiling = fastify.createRateLimit({ max: addressMax, timeWindow: windowMs, keyGenerator: (request) => `ceiling:${clientAddressBucket(request)}` })
  const perAddress = async (request: FastifyRequest) => {
    const verdict = await ceiling(request)
    if (!verdict.isAllowed && verdict.isExceeded) throw tooFast(verdict.ttl)
  }
  fastify.decorate('browserRateLimit', perCaller)
  fastify.addHook('onRoute', (route) => {
    if (route.config?.rateLimit !== perCaller) return
    route.onRequest = [perAddress, ...(route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest])]
  })
}, { name: 'rate-limit', dependencies: [] })
