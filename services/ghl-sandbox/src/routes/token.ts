/**
 * POST /oauth/token, POST /oauth/locationToken and GET /oauth/installedLocations: form-encoded only, client credentials checked,
 * codes and refresh tokens single-use, "Location is not active" that spares the refresh token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { applyFaults, authorize, delay, type SandboxContext } from '../context.ts'
import { MESSAGES, sendGhlError } from '../http.ts'

const FORM = 'application/x-www-form-urlencoded'

function isForm (request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === FORM
}

function formFields (request: FastifyRequest): Record<string, string> {
  const body = request.body
  if (!body || typeof body !== 'object') return {}
  return Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string')) as Record<string, string>
}

export function tokenRoutes (app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/oauth/token', async (request, reply) => {
    if (!isForm(request)) {
      return sendGhlError(reply, 400, `The token endpoint accepts ${FORM} only`)
    }
    const body = formFields(request)
    const missing = ['client_id', 'client_secret', 'grant_type'].filter((f) => !body[f])
    if (missing.length > 0) return sendGhlError(reply, 422, missing.map((f) => `${f} should not be empty`))
    if (body.grant_type !== 'authorization_code' && body.grant_type !== 'refresh_token') {
      return sendGhlError(reply, 422, ['grant_type must be one of the following values: authorization_code, refresh_token'])
    }
    if (body.user_type !== undefined && body.user_type !== 'Location' && body.user_type !== 'Company') {
      return sendGhlError(reply, 422, ['user_type must be one of the following values: Company, Location'])
    }
    if (body.client_id !== ctx.settings.clientId || body.client_secret !== ctx.settings.clientSecret) {
      return sendGhlError(reply, 401, 'Invalid client: client_id or client_secret is wrong')
    }
    const registered = ctx.settings.redirectUris
    if (body.redirect_uri !== undefined && registered.length > 0 && !registered.includes(body.redirect_uri)) {
      return sendGhlError(reply, 400, 'redirect_uri is not registered for this app')
    }

    if (body.grant_type === 'authorization_code') {
      if (!body.code) return sendGhlError(reply, 422, ['code should not be empty'])
      if (!await applyFaults(ctx, reply, ctx.state.locationOfGrant('code', body.code))) return reply
      // Checked and spent after any injected latency: the decision itself is never interleaved.
      const outcome = ctx.state.exchangeCode(body.code, body.redirect_uri)
      return outcome.ok ? outcome.value : sendGhlError(reply, outcome.status, outcome.message)
    }
    if (!body.refresh_token) return sendGhlError(reply, 422, ['refresh_token should not be empty'])
    const location = ctx.state.locationOfGrant('refresh', body.refresh_token)
    const slow = ctx.faults.refreshLatencyMs(location)
    if (slow > 0) await delay(slow)
    if (!await applyFaults(ctx, reply, location)) return reply
    const outcome = ctx.state.refresh(body.refresh_token)
    if (outcome.ok && ctx.faults.dropsRefreshAnswer(location)) {
      // Accepted and spent, then the connection goes: the one failure a kept answer cannot cover.
      ctx.state.stats.refreshAnswersDropped++
      reply.hijack()
      reply.raw.socket?.destroy()
      return reply
    }
    return outcome.ok ? outcome.value : sendGhlError(reply, outcome.status, outcome.message)
  })

  app.post('/oauth/locationToken', async (request, reply) => {
    if (!isForm(request)) return sendGhlError(reply, 400, `This endpoint accepts ${FORM} only`)
    // Counted against the company's limit, like every agency-token call (authorize).
    const grant = await authorize(ctx, request, reply, { version: '2021-07-28', scope: 'oauth.write' })
    if (!grant) return reply
    if (grant.userType !== 'Company') return sendGhlError(reply, 401, MESSAGES.scope)
    const body = formFields(request)
    const missing = ['companyId', 'locationId'].filter((f) => !body[f])
    if (missing.length > 0) return sendGhlError(reply, 422, missing.map((f) => `${f} must be a string`))
    const outcome = ctx.state.locationToken(grant, body.locationId ?? '', body.companyId ?? '')
    return outcome.ok ? outcome.value : sendGhlError(reply, outcome.status, outcome.message)
  })
}

interface InstalledLocationsQuery { companyId?: string, appId?: string, skip?: string, limit?: string, query?: string, isInstalled?: string, locationId?: string }

export function installedLocationsRoute (app: FastifyInstance, ctx: SandboxContext): void {
  app.get<{ Querystring: InstalledLocationsQuery }>('/oauth/installedLocations', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: '2021-07-28', scope: 'oauth.readonly' })
    if (!grant) return reply
    // Agency-Access-Only in the spec: a location token is refused like a missing scope.
    if (grant.userType !== 'Company') return sendGhlError(reply, 401, MESSAGES.scope)
    const q = request.query
    const missing = ['companyId', 'appId'].filter((f) => !q[f as keyof InstalledLocationsQuery])
    if (missing.length > 0) return sendGhlError(reply, 422, missing.map((f) => `${f} must be a string`))
    if (q.companyId !== grant.companyId) return sendGhlError(reply, 403, 'The token does not have access to this company')
    const skip = Number(q.skip ?? '0')
    const limit = Number(q.limit ?? '20')
    if (!Number.isInteger(skip) || skip < 0 || !Number.isInteger(limit) || limit < 1) {
      return sendGhlError(reply, 422, ['skip and limit must be non-negative integer strings'])
    }
    const installed = q.isInstalled === undefined ? undefined : q.isInstalled === 'true'
    return ctx.state.installedLocations(q.companyId, q.appId === ctx.settings.appId, { skip, limit, query: q.query, installed, locationId: q.locationId })
  })
}
