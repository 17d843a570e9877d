/**
 * Machine routes (the CRM's backend) authenticate with `Authorization: Bearer <API key>`.
 * Keys are compared as SHA-256 digests in constant time, so neither content nor length leaks.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { unauthorized } from '@ghl-connect/errors'
import { sameDigest, secretDigest } from '../../security/constant-time.ts'

declare module 'fastify' {
  interface FastifyInstance {
    requireApiKey: (request: FastifyRequest) => Promise<void>
  }
}


export default fp(async function apiKeyAuth (fastify: FastifyInstance, opts: { apiKeys: string[] }) {
  const known = opts.apiKeys.map(secretDigest)
  fastify.decorate('requireApiKey', async (request: FastifyRequest) => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match) throw unauthorized('missing_api_key', 'Send your API key as "Authorization: Bearer <key>".')
    const presented = secretDigest(match[1]!)
    let ok = false
    for (const k of known) ok = sameDigest(k, presented) || ok
    if (!ok) throw unauthorized('invalid_api_key', 'The API key is not valid; check API_KEYS on the server and the key your CRM sends.')
  })
}, { name: 'api-key-auth' })
