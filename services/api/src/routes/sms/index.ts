/** The CRM sends SMS on a client's behalf: durable intake, then the worker sends. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { machineErrorResponses } from '../../schemas/common.ts'
import { SmsAccepted, SmsBody, SmsIdParams, SmsView } from '../../schemas/sms.ts'

const sms: FastifyPluginAsyncTypebox = async (fastify) => {
  const { smsIntake, smsScheduling } = fastify.runtime
  const machine = { onRequest: fastify.requireApiKey }

  fastify.post('/', {
    ...machine,
    schema: {
      tags: ['sms'], summary: 'Queue an SMS for a client (202; the same idempotency key answers the first message)', security: [{ apiKey: [] }],
      body: SmsBody,
      response: { 202: SmsAccepted, ...machineErrorResponses(409, 413, 503) },
    },
  }, async (request, reply) => {
    const { id, status, duplicate } = await smsIntake.accept(request.body, { requestId: request.id })
    request.log.info({ clientId: request.body.clientId, messageId: id, duplicate }, duplicate ? 'sms request repeated; first answer given' : 'sms queued')
    return reply.status(202).send({ id, status })
  })

  fastify.get('/:id', {
    ...machine,
    schema: {
      tags: ['sms'], summary: "An SMS's status, attempts, error and HighLevel ids", security: [{ apiKey: [] }],
      params: SmsIdParams,
      response: { 200: SmsView, ...machineErrorResponses(404) },
    },
  }, async (request) => smsIntake.view(request.params.id))

  fastify.delete('/:id', {
    ...machine,
    schema: {
      tags: ['sms'], summary: 'Cancel an SMS not yet being sent (cancelling again answers the same; 409 not_cancellable once sending or ended)', security: [{ apiKey: [] }],
      params: SmsIdParams,
      response: { 200: SmsView, ...machineErrorResponses(404, 409) },
    },
  }, async (request) => {
    await smsScheduling.cancel(request.params.id)
    request.log.info({ messageId: request.params.id }, 'sms cancelled')
    return smsIntake.view(request.params.id)
  })
}

export default sms
