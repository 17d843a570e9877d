/**
 * POST /api/ghl-oauth/webhooks (app.ts mounts this under the OAuth prefix: the URL HighLevel's app
 * settings name stays as it was). The checks live in webhooks/webhook-service.ts; a verified event
 * that cannot be processed answers 429 `retry_later`, the one answer HighLevel delivers again.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../schemas/common.ts'
import { WebhookReply } from '../../schemas/oauth.ts'

declare module 'fastify' {
  interface FastifyRequest { rawBody?: Buffer }
}

/** Its own encapsulated plugin: only here is the body kept as raw bytes, which the signature covers. */
const webhooks: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer
    done(null, undefined)
  })

  fastify.post('/webhooks', {
    schema: {
      tags: ['oauth'],
      summary: 'HighLevel app webhooks (INSTALL, UNINSTALL), Ed25519-signed',
      headers: { type: 'object', properties: { 'x-ghl-signature': { type: 'string', maxLength: 512 } } },
      response: { 200: WebhookReply, ...errorResponses(400, 401, 403, 409, 413, 429) },
    },
  }, async (request) => {
    const signature = request.headers['x-ghl-signature']
    const status = await fastify.runtime.webhookService.handle(request.rawBody ?? Buffer.alloc(0), typeof signature === 'string' ? signature : undefined)
    return { status }
  })
}

export default webhooks
