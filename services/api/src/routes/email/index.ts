/** The CRM sends email on a client's behalf: the same durable intake and worker as SMS. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { logAs } from '../../plugins/app/request-line.ts'
import { machineErrorResponses } from '../../schemas/common.ts'
import { EMAIL_REQUEST_LIMIT_BYTES, EmailBatchBody, EmailBody, EmailIdParams, EmailView, type EmailBatchBody as EmailBatch } from '../../schemas/email.ts'
import { IDEMPOTENCY_WARNING, IDEMPOTENCY_WARNING_HEADER, SmsAcceptedAnswer, SmsBatchAccepted } from '../../schemas/sms.ts'

const email: FastifyPluginAsyncTypebox = async (fastify) => {
  const { emailIntake, emailBatchIntake, smsScheduling, smsMessages, config } = fastify.runtime
  const machine = { onRequest: fastify.requireApiKey }
  // A client access token reads and cancels only its own client's email.
  const messageClient = async (request: FastifyRequest) => (await smsMessages.findById((request.params as EmailIdParams).id))?.clientId
  const batchClients = (request: FastifyRequest) => (request.body as EmailBatch).messages
    .map((m) => (m as { clientId?: unknown } | null)?.clientId).filter((c): c is string => typeof c === 'string')

  fastify.post('/', {
    ...machine,
    config: { clientToken: { scope: 'email:send', client: 'body' } },
    bodyLimit: EMAIL_REQUEST_LIMIT_BYTES,
    schema: {
      tags: ['email'], summary: 'Queue an email for a client (202; the same idempotency key answers the first message)', security: [{ apiKey: [] }],
      body: EmailBody,
      response: { 202: SmsAcceptedAnswer, ...machineErrorResponses(409, 413, 503) },
    },
  }, async (request, reply) => {
    const { id, status, duplicate } = await emailIntake.accept(request.body, { requestId: request.id })
    logAs(request, duplicate ? 'email request repeated; first answer given' : 'email queued', { clientId: request.body.clientId, messageId: id, duplicate })
    if (request.body.idempotencyKey === undefined) reply.header(IDEMPOTENCY_WARNING_HEADER, IDEMPOTENCY_WARNING)
    return reply.status(202).send({ id, status })
  })

  fastify.post('/batch', {
    ...machine,
    config: { clientToken: { scope: 'email:send', client: batchClients } },
    bodyLimit: config.http.smsBatchBodyLimitBytes,
    schema: {
      tags: ['email'], summary: 'Queue up to 1,000 emails at once (207 with an answer per email; each needs its idempotency key)', security: [{ apiKey: [] }],
      body: EmailBatchBody,
      response: { 207: SmsBatchAccepted, ...machineErrorResponses(413, 503) },
    },
  }, async (request, reply) => {
    const answer = await emailBatchIntake.accept(request.body.messages, { requestId: request.id })
    logAs(request, 'email batch taken in', { messages: answer.results.length, accepted: answer.accepted, failed: answer.failed })
    return reply.status(207).send(answer)
  })

  fastify.get('/:id', {
    ...machine,
    config: { clientToken: { scope: 'email:read', client: messageClient } },
    schema: {
      tags: ['email'], summary: "An email's status, attempts, error, HighLevel ids and delivery status", security: [{ apiKey: [] }],
      params: EmailIdParams,
      response: { 200: EmailView, ...machineErrorResponses(404) },
    },
  }, async (request) => emailIntake.view(request.params.id))

  fastify.delete('/:id', {
    ...machine,
    config: { clientToken: { scope: 'email:send', client: messageClient } },
    schema: {
      tags: ['email'], summary: 'Cancel an email not yet being sent (cancelling again answers the same; 409 not_cancellable once sending or ended)', security: [{ apiKey: [] }],
      params: EmailIdParams,
      response: { 200: EmailView, ...machineErrorResponses(404, 409) },
    },
  }, async (request) => {
    await smsScheduling.cancel(request.params.id, 'email')
    request.log.info({ messageId: request.params.id }, 'email cancelled')
    return emailIntake.view(request.params.id)
  })
}

export default email
