/**
 * The intake baselines: bare Fastify routes that do what POST /api/sms and POST /api/sms/batch
 * must do at the least, the same INSERT into the outbox (one row, or one statement for the
 * batch's rows) and the same queue.add / addBulk, on the same pool size and Redis connection,
 * with nothing else (no auth, schema, logging, tenant lookup, scheduling or fairness priorities).
 * With BARE_PROXY_TOKEN set it is also the proxy's baseline: the contacts search forwarded to
 * HighLevel with undici and that token, the location id added, and nothing else (no auth, token
 * lookup, rate-limit slot, logging or metrics): what one more HTTP hop costs on this machine.
 */
import Fastify from 'fastify'
import { request as forward } from 'undici'
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

const proxyToken = process.env.BARE_PROXY_TOKEN
const proxyLocation = process.env.BARE_PROXY_LOCATION_ID
if (proxyToken && proxyLocation) {
  const base = process.env.GHL_API_BASE_URL!.replace(/\/$/, '')
  app.post('/api/ghl/:clientId/contacts/search', async (req, reply) => {
    const answer = await forward(`${base}/contacts/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxyToken}`, version: '2021-07-28', 'content-type': 'application/json' },
      body: JSON.stringify({ ...(req.body as object), locationId: proxyLocation }),
    })
    return reply.status(answer.statusCode).header('content-type', 'application/json').send(Buffer.from(await answer.body.arrayBuffer()))
  })
}

// One statement whatever the batch's size (unnest of a column per array, as the api's insertMany),
// keeping the idempotency key's ON CONFLICT; then one addBulk for the new rows' jobs.
app.post('/api/sms/batch', { bodyLimit: config.http.smsBatchBodyLimitBytes }, async (request, reply) => {
  const { messages } = request.body as { messages: Array<{ clientId: string, to: { contactId: string }, message: string, idempotencyKey: string }> }
  const rows = await sql<Array<{ id: string }>>`
    insert into sms_messages (client_id, idempotency_key, contact_id, body)
    select * from unnest(${sql.array(messages.map((m) => m.clientId))}::text[], ${sql.array(messages.map((m) => m.idempotencyKey))}::text[],
      ${sql.array(messages.map((m) => m.to.contactId))}::text[], ${sql.array(messages.map((m) => m.message))}::text[])
    on conflict (client_id, idempotency_key) do nothing
    returning id`
  await queues.sms.addBulk(rows.map((r) => ({ name: 'send', data: { messageId: r.id }, opts: { jobId: jobIds.smsSend(r.id) } })))
  return reply.status(207).send({ accepted: rows.length, failed: messages.length - rows.length })
})

await app.listen({ port: config.http.port, host: config.http.host })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
