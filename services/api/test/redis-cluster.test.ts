/**
 * The core paths against a real Redis Cluster (three masters started by this test from
 * `redis-server --cluster-enabled yes` on free ports), every process pointed at it with
 * REDIS_CLUSTER_NODES: a client connects through the OAuth flow (its state in the cluster), an SMS
 * goes through a real worker process (queues, fairness counter, rate limiter, sent receipt), a
 * token is refreshed under the per-client lock by racing callers, and none of it touches the
 * single Redis the other tests use.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { startRedisCluster, TEST_REDIS_URL } from '@ghl-connect/testing'
import { connect, setup, SUNRISE } from './connect-flow.ts'
import { eventually } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const JANE = 'sbxContact0000000001'

t.test('on a 3-master Redis Cluster: connect, send through a worker, refresh under the lock, every key in the cluster', async (t) => {
  const cluster = await startRedisCluster({ masters: 3 })
  t.teardown(() => cluster.destroy())
  const api = await setup(t, { REDIS_CLUSTER_NODES: cluster.env })
  const { runtime } = api.app

  const { page } = await connect(api, 'cluster-client')
  t.equal(page.statusCode, 200, 'the callback found its OAuth state in the cluster')
  t.equal((await runtime.integrations.findByClient('cluster-client'))?.locationId, SUNRISE)

  const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env }, stdio: 'ignore' })
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
  t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })

  const send = async (n: number) => {
    const res = await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: { clientId: 'cluster-client', to: { contactId: JANE }, message: `Cluster ${n}`, idempotencyKey: `cluster-${n}` } })
    t.equal(res.statusCode, 202)
    return res.json().id as string
  }
  const sent = async (id: string) => eventually(`SMS ${id} sent`, async () => {
    const res = await api.app.inject({ url: `/api/sms/${id}`, headers: api.auth })
    return res.json().status === 'sent' ? res.json() : undefined
  })
  const ids = await Promise.all([1, 2, 3, 4, 5].map(send))
  for (const id of ids) await sent(id)
  t.equal(api.sandbox.control.messages().length, 5, 'HighLevel got each SMS once')

  // Due now: racing callers share one refresh (the lock and the lease), then the worker sends with the new token.
  await api.db.sql`update ghl_integrations set expires_at = now() - interval '1 second' where client_id = 'cluster-client'`
  const before = api.sandbox.control.stats()
  const refreshed = await Promise.all(Array.from({ length: 5 }, () => runtime.tokenService.getFresh('cluster-client')))
  t.equal(api.sandbox.control.stats().refreshes - before.refreshes, 1, 'five callers, one refresh at HighLevel')
  t.equal(api.sandbox.control.stats().invalidGrants, 0, 'no refresh token spent twice')
  t.equal(new Set(refreshed.map((i) => i.tokenVersion)).size, 1, 'every caller got the one new token')
  await sent(await send(6))
  t.equal(api.sandbox.control.messages().length, 6)

  const clusterKeys: string[] = []
  for (const m of await cluster.masters()) {
    const node = new Redis(m.port, '127.0.0.1')
    clusterKeys.push(...await node.keys(`${api.env.REDIS_KEY_PREFIX}*`))
    node.disconnect()
  }
  t.ok(clusterKeys.some((k) => k.includes('-bull:{sms}')), 'the sms queue is in the cluster')
  t.ok(clusterKeys.some((k) => k.includes(':ghl-rate:{')), 'and the location\'s rate-limit log')
  const single = new Redis(TEST_REDIS_URL)
  t.same(await single.keys(`${api.env.REDIS_KEY_PREFIX}*`), [], 'the single Redis saw nothing of this deployment')
  single.disconnect()

  worker.kill('SIGTERM')
  t.equal(await exited, 0, 'the worker stops cleanly on the cluster')
})
