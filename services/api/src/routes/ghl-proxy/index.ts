/**
 * `/api/ghl/:clientId/<HighLevel path>`: the CRM's own HighLevel calls, made with the client's
 * token (ghl-proxy/proxy-service.ts). Bodies are passed on as bytes, never parsed here beyond
 * adding the location id; one audit line per call, without query values, bodies or tokens.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { isAppError } from '@ghl-connect/errors'
import type { ProxyFamily } from '@ghl-connect/ghl'

const PREFIX = '/api/ghl/'

const ghlProxy: FastifyPluginAsync = async (fastify) => {
  const { ghlProxy: proxy, config } = fastify.runtime
  // Every content type, as bytes: HighLevel reads the body, not us.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  const handler = async (request: FastifyRequest<{ Params: { clientId: string } }>, reply: FastifyReply) => {
    const started = performance.now()
    const { clientId } = request.params
    // The raw path, as sent: the family check must see what HighLevel would see (encoded slashes, dots).
    const [pathAndClient = '', query = ''] = request.raw.url!.split(/\?(.*)/s)
    const path = pathAndClient.slice(PREFIX.length).replace(/^[^/]*/, '')
    let family: ProxyFamily | 'refused' = 'refused'
    let status = 500
    try {
      family = proxy.familyOf(path)
      const answer = await proxy.forward({ clientId, method: request.method, path, query, headers: request.headers, body: request.body as Buffer | undefined })
      status = answer.status
      // X-RateLimit-* on this answer are HighLevel's for the location, not the API key's budget.
      reply.removeHeader('x-ratelimit-limit').removeHeader('x-ratelimit-remaining')
      return reply.code(answer.status).headers(answer.headers).send(answer.body)
    } catch (err) {
      status = isAppError(err) ? err.statusCode : 500
      throw err
    } finally {
      request.log.info({ audit: 'ghl_proxy', clientId, method: request.method, family, status, ms: Math.round(performance.now() - started) }, 'HighLevel proxy call')
    }
  }

  fastify.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/:clientId/*',
    onRequest: fastify.requireApiKey,
    bodyLimit: config.http.ghlProxy.bodyLimitBytes,
    config: { logQuery: false, clientToken: { scope: 'proxy', client: 'params' } },
    // HighLevel's own paths and answers: documented by HighLevel (shared/ghl-openapi), not here.
    schema: { hide: true },
    // HEAD is registered explicitly: Fastify's automatic HEAD would run GET against HighLevel.
    exposeHeadRoute: false,
    handler,
  })
}

export default ghlProxy
