import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI document, built from every route's schema, and a person's view of it: Swagger UI at
 * /docs, the document itself at /docs/json (and /docs/yaml). The UI lives in its own scope with
 * its own Content-Security-Policy (hashes of its inline scripts), so the connect pages keep theirs.
 */
export default fp(async function apiDocs (fastify: FastifyInstance) {
  await fastify.register(swagger, {
    openapi: {
      info: { title: 'ghl-connect', version: '0.1.0', description: 'Connect HighLevel sub-accounts by OAuth and send SMS on their behalf.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer' },
          clientToken: { type: 'http', scheme: 'bearer', description: 'A client access token (gct_...): one client, its scopes (POST /api/clients/{clientId}/access-tokens)' },
        },
      },
    },
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The api also runs on plain http (development, behind a TLS-terminating proxy): asking the
    // browser to upgrade would break the page there.
    transformStaticCSP: (header) => header.replace(/\s?upgrade-insecure-requests;?/, ''),
  })
}, { name: 'api-docs' })
