import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import { tooManyRequests } from '@ghl-connect/errors'

/**
 * Per-IP limits counted in Redis, so every api replica shares one count. Routes opt in with
 * `config.rateLimit`; the OAuth routes do (OAUTH_RATE_LIMIT_MAX per OAUTH_RATE_LIMIT_WINDOW_SECONDS).
 */
export default fp(async function rateLimitPlugin (fastify: FastifyInstance) {
  const { redis, keys } = fastify.runtime
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
}, { name: 'rate-limit', dependencies: [] })
