import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) })

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())])

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/healthz', {
    schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/readyz', {
    schema: {
      tags: ['ops'],
      summary: 'Readiness: PostgreSQL and Redis answer',
      response: { 200: Type.Object({ status: Type.String(), postgres: Check, redis: Check }), 503: Type.Object({ status: Type.String(), postgres: Check, redis: Check }) },
    },
  }, async (_request, reply) => {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await withTimeout(probe(), 2000)
        return { ok: true }
      } catch (err) {
        return { ok: false, error: (err as Error).message }
      }
    }
    const [postgres, redis] = await Promise.all([
      check(() => fastify.runtime.database.sql`select 1`),
      check(() => fastify.runtime.redis.ping()),
    ])
    const ready = postgres.ok && redis.ok
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, redis })
  })
}

export default health
