/**
 * Machine routes (the CRM's backend) authenticate with `Authorization: Bearer <API key>`.
 * Keys are compared as SHA-256 digests in constant time, so neither content nor length leaks.
 * A good key then spends one request of its own budget (API_RATE_LIMIT_MAX per
 * API_RATE_LIMIT_WINDOW_SECONDS), and the rest of the request logs under the key's name, so the
 * audit lines say which key asked, never the key.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ApiKey } from '@ghl-connect/config'
import { tooManyRequests, unauthorized } from '@ghl-connect/errors'
import { sameDigest, secretDigest } from '@ghl-connect/process-kit'
import type { ApiKeyRateLimit } from '../../security/api-key-rate-limit.ts'

declare module 'fastify' {
  interface FastifyInstance {
    requireApiKey: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    /** The name of the API key that authenticated this request (machine routes only). */
    apiKeyName: string | null
  }
}

export default fp(async function apiKeyAuth (fastify: FastifyInstance, opts: { apiKeys: ApiKey[], rateLimit: ApiKeyRateLimit }) {
  const known = opts.apiKeys.map((k) => ({ name: k.name, digest: secretDigest(k.key) }))
  fastify.decorateRequest('apiKeyName', null)

  const authenticate = (request: FastifyRequest): string => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match) throw unauthorized('missing_api_key', 'Send your API key as "Authorization: Bearer <key>".')
    const presented = secretDigest(match[1]!)
    // Every key compared every time, so which key matched does not show in the timing.
    let name: string | null = null
    for (const k of known) if (sameDigest(k.digest, presented)) name ??= k.name
    if (name === null) throw unauthorized('invalid_api_key', 'The API key is not valid; check API_KEYS on the server and the key your CRM sends.')
    return name
  }

  fastify.decorate('requireApiKey', async (request: FastifyRequest, reply: FastifyReply) => {
    const name = authenticate(request)
    request.apiKeyName = name
    request.log = request.log.child({ apiKey: name })
    const budget = await opts.rateLimit.spend(name)
    if (!budget) return
    reply.header('x-ratelimit-limit', budget.max).header('x-ratelimit-remaining', budget.remaining)
    if (!budget.allowed) {
      throw tooManyRequests('rate_limited',
        `Too many requests with the API key "${name}" (at most ${budget.max} per window, API_RATE_LIMIT_MAX); try again in ${budget.retryAfterSeconds} seconds.`,
        budget.retryAfterSeconds)
    }
  })
}, { name: 'api-key-auth' })
