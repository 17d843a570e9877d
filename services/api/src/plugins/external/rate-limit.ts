import fp from 'fastify-plugin'
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
 * The browser routes' limit (authorize, callback, /connect): per client address, counted in Redis
 * so every api replica shares one count (OAUTH_RATE_LIMIT_MAX per OAUTH_RATE_LIMIT_WINDOW_SECONDS).
 * One IPv6 host usually holds a whole /64, so an IPv6 address counts as its /64 and an IPv4-mapped
 * one as its IPv4. The address is the socket's unless TRUST_PROXY names the proxy in front.
 * Machine routes are limited per API key instead (plugins/app/api-key-auth.ts).
 */
export const clientAddressBucket = (request: FastifyRequest): string => normalizeIP(request.ip, 64)

export default fp(async function rateLimitPlugin (fastify: FastifyInstance) {
  const { redis, keys, config } = fastify.runtime
  await fastify.register(rateLimit, {
    global: false,
    redis,
    nameSpace: keys.rateLimitNamespace,
    // Redis down must not lock everyone out of the connect flow.
    skipOnError: true,
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000))
      return tooManyRequests('rate_limited', `Too many requests from your address; try again in ${seconds} seconds.`, seconds)
    },
  })
  fastify.decorate('browserRateLimit', {
    max: config.http.oauthRateLimit.max,
    timeWindow: config.http.oauthRateLimit.windowMs,
    keyGenerator: clientAddressBucket,
  })
}, { name: 'rate-limit', dependencies: [] })
