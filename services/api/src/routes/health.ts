import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Check = Type.Object({ ok: Type.Boolean() })
const ReadyReply = Type.Object({ status: Type.String(), postgres: Check, redis: Check })

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/healthz', {
    schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/readyz', {
    schema: { tags: ['ops'], summary: 'Readiness: PostgreSQL and Redis answer (each named with ok or not; why is in the log)', response: { 200: ReadyReply, 503: ReadyReply } },
  }, async (_request, reply) => {
    const { statusCode, body } = await fastify.runtime.readiness()
    return reply.status(statusCode).send(body)
  })
}

export default health
