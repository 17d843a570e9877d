/**
 * The worker baseline: a bare BullMQ worker that only POSTs the send request to HighLevel with
 * undici (token, contact and text carried in the job), at the same concurrency as the worker.
 * No outbox reads or writes, no refresh path, no rate limiter, no recipient resolution.
 */
import { createServer } from 'node:http'
import { Worker } from 'bullmq'
import { Agent, request } from 'undici'
import { loadWorkerConfig } from '@ghl-connect/config'
import { createRedis } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { BARE_QUEUE, type BareJob } from './bare-contract.ts'


const config = loadWorkerConfig()
const connection = createRedis(config.redis)
const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 30_000 })

const worker = new Worker<BareJob>(BARE_QUEUE, async (job) => {
  const res = await request(`${config.ghl.apiBaseUrl}/conversations/messages`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${job.data.accessToken}`, version: '2021-04-15', accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'SMS', contactId: job.data.contactId, message: job.data.message }),
  })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`HighLevel answered ${res.statusCode}: ${text}`)
  return JSON.parse(text) as unknown
}, { connection, prefix: new RedisKeys(config.redis.keyPrefix).bullPrefix(BARE_QUEUE), concurrency: config.worker.concurrency })
worker.on('error', () => {})

createServer((_req, res) => { res.writeHead(worker.isRunning() ? 200 : 503).end() }).listen(config.worker.healthPort, '127.0.0.1')
process.on('SIGTERM', () => { void worker.close().then(() => process.exit(0)) })
