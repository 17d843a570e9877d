/** The CRM sends SMS on a client's behalf: durable intake, then the worker sends. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { logAs } from '../../plugins/app/request-line.ts'
import { machineErrorResponses } from '../../schemas/common.ts'
import { IDEMPOTENCY_WARNING, IDEMPOTENCY_WARNING_HEADER, SmsAcceptedAnswer, SmsBatchAccepted, SmsBatchBody, SmsBody, SmsIdParams, SmsView, type SmsBatchBody as SmsBatch } from '../../schemas/sms.ts'

const sms: FastifyPluginAsyncTypebox = async (fastify) => {
  const { smsIntake, smsScheduling, smsBatchIntake, smsMessages, config } = fastify.runtime
  const machine = { onRequest: fastify.requireApiKey }
  // A client access token reads and cancels only its own client's SMS.
  const messageClient = async (request: FastifyRequest) => (await smsMessages.findById((request.params as SmsIdParams).id))?.clientId
  // Each message of a batch names its client (one without is refused on its own, in the 207).
  const batchClients = (request: FastifyRequest) => (request.body as SmsBatch).messages
    .map((m) => (m as { clientId?: unknown } | null)?.clientId).filter((c): c is string => typeof c === 'string')

  fastify.post('/', {
    ...machine,
    config: { clientToken: { scope: 'sms:send', client: 'body' } },
    schema: {
      tags: ['sms'], summary: 'Queue an SMS for a client (202; the same idempotency key answers the first message)', security: [{ apiKey: [] }],
      body: SmsBody,
      response: { 202: SmsAcceptedAnswer, ...machineErrorResponses(409, 413, 503) },
    },
  }, async (request, reply) => {
    const { id, status, duplicate } = await smsIntake.accept(request.body, { requestId: request.id })
    logAs(request, duplicate ? 'sms request repeated; first answer given' : 'sms queued', { clientId: request.body.clientId, messageId: id, duplicate })
    if (request.body.idempotencyKey === undefined) reply.header(IDEMPOTENCY_WARNING_HEADER, IDEMPOTENCY_WARNING)
    return reply.status(202).send({ id, status })
  })

  // 207: one status per message (accepted, repeated or refused), in `results`; 400 only for a bad envelope.
  fastify.post('/batch', {
    ...machine,
    config: { clientToken: { scope: 'sms:send', client: batchClients } },
    bodyLimit: config.http.smsBatchBodyLimitBytes,
    schema: {
      tags: ['sms'], summary: 'Queue up to 1,000 SMS at once (207 with an answer per message; each needs its idempotency key)', security: [{ apiKey: [] }],
      body: SmsBatchBody,
      response: { 207: SmsBatchAccepted, ...machineErrorResponses(413, 503) },
    },
  }, async (request, reply) => {
    const answer = await smsBatchIntake.accept(request.body.messages, { requestId: request.id })
    logAs(request, 'sms batch taken in', { messages: answer.results.length, accepted: answer.accepted, failed: answer.failed })
    return reply.status(207).send(answer)
  })

  fastify.get('/:id', {
    ...machine,
    config: { clientToken: { scope: 'sms:read', client: messageClient } },
    schema: {
      tags: ['sms'], summary: "An SMS's status, attempts, error and HighLevel ids", security: [{ apiKey: [] }],
      params: SmsIdParams,
      response: { 200: SmsView, ...machineErrorResponses(404) },
    },
  }, async (request) => smsIntake.view(request.params.id))

  fastify.delete('/:id', {
    ...machine,
    config: { clientToken: { scope: 'sms:send', client: messageClient } },
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
