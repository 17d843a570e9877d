/**
 * The connect flow and the CRM's view of its clients' connections. Machine routes need the API
 * key; browser routes are protected by signed links and the signed state cookie, and answer HTML
 * (`answer: 'page'`: the error handler shows their failures as a page).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { notFound } from '@ghl-connect/errors'
import type { Integration } from '@ghl-connect/db'
import { agencyInstalledPage, agencyPickPage } from '../../pages/agency.ts'
import { connectedPage, pendingClaimPage, reinstalledPage } from '../../pages/connected.ts'
import { sendPage } from '../../pages/layout.ts'
import { STATE_TTL_SECONDS, type ConnectStart } from '../../oauth/oauth-states.ts'
import { ClientIdParams, machineErrorResponses } from '../../schemas/common.ts'
import { AgencyPickBody, CallbackQuery, ClaimBody, ConnectLinkBody, ConnectLinkReply, LinkQuery, StatusReply, TokenReply } from '../../schemas/oauth.ts'

export const STATE_COOKIE = 'ghl_oauth'

const view = (i: Integration, needsRefresh: boolean) => ({
  locationId: i.locationId,
  locationName: i.locationName,
  scopes: i.scopes,
  expiresAt: i.expiresAt.toISOString(),
  needsRefresh,
  status: i.status,
  connectedAt: i.connectedAt.toISOString(),
  lastRefreshedAt: i.lastRefreshedAt?.toISOString() ?? null,
})

const ghlOAuth: FastifyPluginAsyncTypebox = async (fastify) => {
  const { runtime } = fastify
  const { config, connectLinks, connectService, installClaims, integrations, tokenService } = runtime
  const rateLimit = fastify.browserRateLimit
  const secureCookie = config.http.appUrl.startsWith('https:')
  const machine = { preValidation: fastify.requireApiKey, schema: { security: [{ apiKey: [] }] } }

  fastify.post('/connect-links', {
    preValidation: fastify.requireApiKey,
    schema: {
      tags: ['oauth'], summary: 'Create a signed, single-use link that connects a client', security: [{ apiKey: [] }],
      body: ConnectLinkBody,
      response: { 201: ConnectLinkReply, ...machineErrorResponses(413) },
    },
  }, async (request, reply) => {
    const { clientId, returnUrl, ttlSeconds } = request.body
    const link = connectLinks.create('authorize', { clientId, returnUrl, ttlSeconds })
    const page = connectLinks.create('connect', { clientId, returnUrl, ttlSeconds })
    return reply.status(201).send({ url: link.url, connectPageUrl: page.url, expiresAt: link.expiresAt.toISOString() })
  })

  fastify.get('/authorize', {
    config: { rateLimit, answer: 'page' },
    schema: { tags: ['oauth'], summary: 'Browser: check the signed link, bind a one-time state to this browser, go to HighLevel', querystring: LinkQuery },
  }, async (request, reply) => {
    const q = request.query
    const unsigned = q.clientId && !q.sig && !q.exp
    let start: ConnectStart
    if (unsigned && config.http.allowUnsignedConnect) {
      request.log.warn({ clientId: q.clientId }, 'unsigned connect link accepted because ALLOW_UNSIGNED_CONNECT is on; never enable it in production')
      start = { clientId: q.clientId!, returnUrl: connectLinks.checkReturnUrl('authorize', q.returnUrl) }
    } else {
      const link = connectLinks.verify('authorize', q)
      start = { clientId: link.clientId, returnUrl: link.returnUrl, link: { id: link.linkId, expiresAt: link.exp * 1000, pageId: link.page } }
    }
    const { redirectUrl, cookie } = await connectService.begin(start)
    reply.setCookie(STATE_COOKIE, cookie, {
      signed: true, httpOnly: true, sameSite: 'lax', secure: secureCookie, path: '/api/ghl-oauth', maxAge: STATE_TTL_SECONDS,
    })
    return reply.header('cache-control', 'no-store').redirect(redirectUrl, 302)
  })

  fastify.get('/callback', {
    config: { rateLimit, answer: 'page' },
    schema: { tags: ['oauth'], summary: 'Browser: HighLevel returns here with a code', querystring: CallbackQuery },
  }, async (request, reply) => {
    const raw = request.cookies[STATE_COOKIE]
    const unsigned = raw ? request.unsignCookie(raw) : undefined
    const cookie = unsigned?.valid ? unsigned.value ?? undefined : undefined
    // A callback with a state spends this browser's attempt; one without (refused while a cookie
    // is present) must not end the connection the browser did start.
    if (request.query.state) reply.clearCookie(STATE_COOKIE, { path: '/api/ghl-oauth' })
    const outcome = await connectService.complete({
      code: request.query.code,
      state: request.query.state,
      error: request.query.error,
      errorDescription: request.query.error_description,
      // a cookie whose signature fails counts as present but foreign
      cookie: raw && !cookie ? 'forged.cookie' : cookie,
    })
    if (outcome.kind === 'unclaimed') {
      return sendPage(reply, 200, pendingClaimPage(outcome.integration.locationName ?? outcome.integration.locationId, outcome.claimCode))
    }
    if (outcome.kind === 'renewed') return sendPage(reply, 200, reinstalledPage(outcome.integration.locationName ?? outcome.integration.locationId))
    if (outcome.kind === 'agency_unclaimed') return sendPage(reply, 200, agencyInstalledPage(outcome.install))
    if (outcome.kind === 'agency_pick') {
      return sendPage(reply, 200, agencyPickPage({
        clientId: outcome.pending.clientId, install: outcome.install, pickToken: outcome.pickToken, pickUrl: '/api/ghl-oauth/agency-pick',
      }))
    }
    return sendConnected(reply, outcome.integration, outcome.pending.returnUrl)
  })

  const sendConnected = (reply: Parameters<typeof sendPage>[0], integration: Integration, returnUrl?: string) => sendPage(reply, 200, connectedPage({
    clientId: integration.clientId,
    locationName: integration.locationName ?? integration.locationId,
    targetOrigins: [...new Set([config.http.crmOrigin, new URL(config.http.appUrl).origin])],
    returnUrl,
  }))

  // The picker page posts a plain HTML form.
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  fastify.post('/agency-pick', {
    config: { rateLimit, answer: 'page' },
    // The target of our own picker page's form, not an API: kept out of the OpenAPI document.
    schema: { hide: true, body: AgencyPickBody },
  }, async (request, reply) => {
    const { integration, start } = await connectService.completePick(request.body.pick, request.body.locationId)
    return sendConnected(reply, integration, start.returnUrl)
  })

  fastify.get('/status/:clientId', {
    ...machine,
    schema: { ...machine.schema, tags: ['oauth'], summary: "A client's connection, without tokens", params: ClientIdParams, response: { 200: StatusReply, ...machineErrorResponses() } },
  }, async (request) => {
    const integration = await integrations.findByClient(request.params.clientId)
    return { connected: integration !== null && integration.status === 'active', integration: integration ? view(integration, integrations.needsRefresh(integration)) : null }
  })

  fastify.post('/refresh/:clientId', {
    ...machine,
    schema: { ...machine.schema, tags: ['oauth'], summary: 'Refresh the access token now (the same locked path the worker uses)', params: ClientIdParams, response: { 200: StatusReply, ...machineErrorResponses(409, 503) } },
  }, async (request) => {
    const integration = await tokenService.refreshNow(request.params.clientId)
    return { connected: true, integration: view(integration, integrations.needsRefresh(integration)) }
  })

  fastify.get('/token/:clientId', {
    ...machine,
    schema: { ...machine.schema, tags: ['oauth'], summary: "A fresh access token for the CRM's own HighLevel calls (never the refresh token)", params: ClientIdParams, response: { 200: TokenReply, ...machineErrorResponses(409, 503) } },
  }, async (request, reply) => {
    const integration = await tokenService.getFresh(request.params.clientId)
    request.log.info({ clientId: integration.clientId, locationId: integration.locationId, audit: 'access_token_issued' }, 'access token handed to the CRM')
    reply.header('cache-control', 'no-store')
    return { accessToken: integration.accessToken!, locationId: integration.locationId, expiresAt: integration.expiresAt.toISOString() }
  })

  fastify.delete('/integrations/:clientId', {
    ...machine,
    schema: { ...machine.schema, tags: ['oauth'], summary: 'Disconnect: deactivate and erase the tokens', params: ClientIdParams, response: { 204: Type.Null(), ...machineErrorResponses(404) } },
  }, async (request, reply) => {
    if (!await integrations.deactivate(request.params.clientId)) {
      throw notFound('not_connected', `Client ${request.params.clientId} has no active GoHighLevel connection.`)
    }
    request.log.info({ clientId: request.params.clientId }, 'client disconnected')
    return reply.status(204).send(null)
  })

  fastify.post('/claims', {
    ...machine,
    schema: {
      ...machine.schema,
      tags: ['oauth'],
      summary: 'Attach an install started from the HighLevel marketplace to a client, with the claim code the installer was shown',
      body: ClaimBody,
      response: { 200: StatusReply, ...machineErrorResponses(403, 404, 409, 413) },
    },
  }, async (request) => {
    const { clientId, locationId, claimCode } = request.body
    const claimed = await installClaims.claim(clientId, locationId, claimCode)
    return { connected: true, integration: view(claimed, integrations.needsRefresh(claimed)) }
  })
}

export default ghlOAuth
