/**
 * The CRM mints, lists and revokes a client's access tokens: least-privilege credentials for what
 * acts for that one client (an assistant, a widget, the client's own integration). API key only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { AccessTokenView } from '@ghl-connect/access-tokens'
import { AccessTokenBody, AccessTokenCreated, AccessTokenList, AccessTokenParams } from '../../schemas/access-tokens.ts'
import { ClientIdParams, machineErrorResponses } from '../../schemas/common.ts'

const wire = (t: AccessTokenView) => ({
  id: t.id, clientId: t.clientId, name: t.name, scopes: t.scopes, expiresAt: t.expiresAt.toISOString(),
})

const accessTokens: FastifyPluginAsyncTypebox = async (fastify) => {
  const { accessTokens: tokens } = fastify.runtime
  const machine = { onRequest: fastify.requireApiKey }

  fastify.post('/:clientId/access-tokens', {
    ...machine,
    schema: {
      tags: ['access tokens'], summary: 'Mint an access token for one client (shown once): for its assistant, widget or own integration', security: [{ apiKey: [] }],
      params: ClientIdParams,
      body: AccessTokenBody,
      response: { 201: AccessTokenCreated, ...machineErrorResponses(403, 413) },
    },
  }, async (request, reply) => {
    const { token, accessToken } = await tokens.create({ clientId: request.params.clientId, ...request.body })
    request.log.info({ audit: 'client_token_created', clientId: accessToken.clientId, tokenId: accessToken.id, tokenName: accessToken.name, scopes: accessToken.scopes }, 'client access token created')
    reply.header('cache-control', 'no-store')
    return reply.status(201).send({ ...wire(accessToken), token })
  })

  fastify.get('/:clientId/access-tokens', {
    ...machine,
    schema: {
      tags: ['access tokens'], summary: "A client's access tokens, without their secrets", security: [{ apiKey: [] }],
      params: ClientIdParams,
      response: { 200: AccessTokenList, ...machineErrorResponses(403) },
    },
  }, async (request) => ({
    accessTokens: (await tokens.list(request.params.clientId)).map((t) => ({
      ...wire(t), createdAt: t.createdAt.toISOString(), lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    })),
  }))

  fastify.delete('/:clientId/access-tokens/:id', {
    ...machine,
    schema: {
      tags: ['access tokens'], summary: 'Revoke an access token: refused from the next request on, by every api replica', security: [{ apiKey: [] }],
      params: AccessTokenParams,
      response: { 204: Type.Null({ description: 'Revoked (revoking again answers the same)' }), ...machineErrorResponses(403, 404) },
    },
  }, async (request, reply) => {
    await tokens.revoke(request.params.clientId, request.params.id)
    request.log.info({ audit: 'client_token_revoked', clientId: request.params.clientId, tokenId: request.params.id }, 'client access token revoked')
    return reply.status(204).send(null)
  })
}

export default accessTokens
