/** Per-client settings the CRM sets for its clients' SMS. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ClientSettingsBody } from '../../schemas/client-settings.ts'
import { ClientIdParams, machineErrorResponses } from '../../schemas/common.ts'

const clients: FastifyPluginAsyncTypebox = async (fastify) => {
  const { clientSettingsService: clientSettings } = fastify.runtime
  const machine = { onRequest: fastify.requireApiKey }

  fastify.get('/:clientId/settings', {
    ...machine,
    schema: {
      tags: ['clients'], summary: "A client's SMS settings: quiet hours and default sender number (null when unset)", security: [{ apiKey: [] }],
      params: ClientIdParams,
      response: { 200: ClientSettingsBody, ...machineErrorResponses() },
    },
  }, async (request) => clientSettings.get(request.params.clientId))

  fastify.put('/:clientId/settings', {
    ...machine,
    schema: {
      tags: ['clients'], summary: "Replace a client's SMS settings (both fields; null clears one)", security: [{ apiKey: [] }],
      params: ClientIdParams,
      body: ClientSettingsBody,
      response: { 200: ClientSettingsBody, ...machineErrorResponses(413) },
    },
  }, async (request) => {
    const settings = await clientSettings.put(request.params.clientId, request.body)
    request.log.info({ clientId: request.params.clientId, quietHours: settings.quietHours !== null }, 'client settings replaced')
    return settings
  })
}

export default clients
