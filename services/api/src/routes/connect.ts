import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { connectWidget } from '../pages/connect-widget.ts'
import { sendPage } from '../pages/layout.ts'
import { LinkQuery } from '../schemas/oauth.ts'

/** The seed's "Connect GoHighLevel" button and status indicator, for CRMs that embed it. */
const connect: FastifyPluginAsyncTypebox = async (fastify) => {
  const { connectLinks, connectService, integrations, config } = fastify.runtime

  fastify.get('/connect', {
    config: { answer: 'page', rateLimit: fastify.browserRateLimit },
    schema: { tags: ['oauth'], summary: 'Browser: the Connect GoHighLevel button and status, opened by a signed link', querystring: LinkQuery },
  }, async (request, reply) => {
    const claims = connectLinks.verify('connect', request.query)
    const integration = await integrations.findByClient(claims.clientId)
    // A short-lived authorize link of its own (the page may stay open a while, the click is soon
    // after), naming this page link: the first of them to connect spends it, and then the page
    // shows the status only.
    const authorizeUrl = await connectService.isPageLinkSpent(claims.linkId)
      ? null
      : connectLinks.create('authorize', { clientId: claims.clientId, returnUrl: claims.returnUrl, ttlSeconds: 600, page: claims.linkId }).url
    return sendPage(reply, 200, connectWidget({
      clientId: claims.clientId,
      connected: integration ? { locationName: integration.locationName ?? integration.locationId, status: integration.status } : null,
      authorizeUrl,
      appOrigin: new URL(config.http.appUrl).origin,
    }))
  })
}

export default connect
