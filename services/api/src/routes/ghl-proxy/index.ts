/**
 * `/api/ghl/:clientId/<HighLevel path>`: the CRM's own HighLevel calls, made with the client's
 * token (ghl-proxy/proxy-service.ts). Bodies are passed on as bytes, never parsed here beyond
 * adding the location id; one audit line per call, without query values, bodies or tokens.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { isAppError } from '@ghl-connect/errors'
import type { ProxyFamily } from '@ghl-connect/ghl'
import { machineErrorResponses } from '../../schemas/common.ts'

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
    // Named in the document with our own answers; HighLevel's paths and bodies are HighLevel's to
    // document (shared/ghl-openapi). No params schema: the raw path is checked by the proxy itself.
    schema: {
      tags: ['ghl-proxy'],
      summary: "A HighLevel call with the client's token: /api/ghl/{clientId}/<HighLevel path> (contacts, conversations, opportunities, calendars, locations)",
      description: "HighLevel's status, body and headers come back unchanged. Our own answers: 403 path_not_allowed (a family or path not passed on), " +
        '409 not_connected / needs_reauth, 413 (body over GHL_PROXY_BODY_LIMIT_BYTES), 429 rate_limited (no slot of the location\'s budget within GHL_PROXY_MAX_WAIT_MS, with Retry-After), ' +
        '502 ghl_unreachable / ghl_timeout (no answer from HighLevel; a POST or PATCH may have been carried out). See docs/crm-guide.md#highlevel-proxy.',
      security: [{ apiKey: [] }],
      response: machineErrorResponses(403, 409, 413, 502),
    },
    // HEAD is registered explicitly: Fastify's automatic HEAD would run GET against HighLevel.
    exposeHeadRoute: false,
    handler,
  })
}

export default ghlProxy
