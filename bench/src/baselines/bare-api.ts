/**
 * The enqueue baseline: a bare Fastify route that does what POST /api/sms must do at the least,
 * the same INSERT into the outbox and the same queue.add, on the same pool size and Redis
 * connection, with nothing else (no auth, schema, logging, idempotency or tenant lookup).
 */
import Fastify from 'fastify'
import { loadApiConfig } from '@ghl-connect/config'
import { createDatabase } from '@ghl-connect/db'
import { createQueues, createRedis, jobIds } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'

const config = loadApiConfig()
const { sql } = createDatabase(config.database)
const redis = createRedis(config.redis, { maxRetriesPerRequest: 1 })
const queues = createQueues(redis, new RedisKeys(config.redis.keyPrefix))
const app = Fastify()

app.get('/readyz', async () => {
  await sql`select 1`
  await redis.ping()
  return { status: 'ready' }
})

app.post('/api/sms', async (request, reply) => {
  const body = request.body as { clientId: string, to: { contactId: string }, message: string }
  const [row] = await sql<Array<{ id: string, status: string }>>`
    insert into sms_messages (client_id, contact_id, body) values (${body.clientId}, ${body.to.contactId}, ${body.message})
    on conflict do nothing returning *`
  await queues.sms.add('send', { messageId: row!.id }, { jobId: jobIds.smsSend(row!.id) })
  return reply.status(202).send({ id: row!.id, status: row!.status })
})

await app.listen({ port: config.http.port, host: config.http.host })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
