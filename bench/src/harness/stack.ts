/**
 * One measurement's world: its own PostgreSQL and Redis on spare ports, the sandbox HighLevel,
 * and the api / worker processes started on demand, all torn down at the end (also on Ctrl-C).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { loadWorkerConfig } from '@ghl-connect/config'
import { migrateDatabase, type DatabaseHandle, type IntegrationsRepository } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import type { Queues, SmsDispatcher } from '@ghl-connect/queues'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import { createCore, type Core } from '@ghl-connect/core'
import type { Redis } from 'ioredis'
import { apiEnv, baseEnv, sandboxEnv, workerEnv, type Env } from './env.ts'
import { freePort } from '@ghl-connect/testing'
import { waitFor } from './ports.ts'
import { startPostgres, type ThrowawayPostgres } from './postgres.ts'
import { ENTRIES, spawnService, type Service } from './processes.ts'
import { startRedis, type ThrowawayRedis } from './redis.ts'
import { startRedisCluster, type ThrowawayCluster } from './redis-cluster.ts'
import { SandboxClient } from './sandbox-client.ts'

export interface Tenant { clientId: string, locationId: string, contactId: string }
export interface RunningApi { service: Service, url: string, apiKey: string }

const live = new Set<Stack>()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { for (const s of live) s.destroySync(); process.exit(130) })
}
process.once('exit', () => { for (const s of live) s.destroySync() })

export class Stack {
  readonly services: Service[] = []
  sandbox!: SandboxClient
  sandboxService!: Service
  base!: Env
  core!: Core
  database!: DatabaseHandle
  redis!: Redis
  keys!: RedisKeys
  queues!: Queues
  dispatcher!: SmsDispatcher
  integrations!: IntegrationsRepository

  private constructor (readonly dir: string, readonly pg: ThrowawayPostgres, readonly redisServer: ThrowawayRedis,
    /** Set when the stack runs on a Redis Cluster (`redisServer` then flushes and stops its nodes). */
    readonly redisCluster?: ThrowawayCluster) {}

  /** `redisCluster`: every process on a throwaway Redis Cluster (REDIS_CLUSTER_NODES) instead of one redis-server. */
  static async start (label: string, opts: { statementStats?: boolean, redisCluster?: { masters: number, replicas: number } } = {}): Promise<Stack> {
    const dir = mkdtempSync(join(tmpdir(), `ghl-${label}-`))
    const pg = await startPostgres(dir, undefined, opts)
    const cluster = opts.redisCluster ? await startRedisCluster(opts.redisCluster) : undefined
    const redisServer = cluster ? { url: `redis://${cluster.nodes[0]!.host}:${cluster.nodes[0]!.port}`, flushAll: cluster.flushAll, destroy: cluster.destroy } : await startRedis()
    const stack = new Stack(dir, pg, redisServer, cluster)
    live.add(stack)
    await migrateDatabase(pg.url)
    const sandboxPort = await freePort()
    stack.base = baseEnv({ databaseUrl: pg.url, redisUrl: redisServer.url, sandboxUrl: `http://127.0.0.1:${sandboxPort}` },
      cluster ? { REDIS_CLUSTER_NODES: cluster.env } : {})
    stack.sandboxService = stack.spawn('sandbox', ENTRIES.sandbox, sandboxEnv(stack.base, sandboxPort))
    stack.sandbox = new SandboxClient(`http://127.0.0.1:${sandboxPort}`)
    await waitFor('the sandbox to listen', () => stack.sandbox.stats().then(() => true))
    // The harness's own side (seeding, enqueueing, counting) is built like any process's.
    stack.core = createCore(loadWorkerConfig(stack.base), createLogger({ level: 'silent', name: 'bench-harness' }), { service: 'worker' })
    ;({ database: stack.database, redis: stack.redis, keys: stack.keys, queues: stack.queues, dispatcher: stack.dispatcher, integrations: stack.integrations } = stack.core)
    return stack
  }

  spawn (name: string, entry: string, env: Env): Service {
    const service = spawnService(name, entry, env, this.dir)
    this.services.push(service)
    return service
  }

  async startApi (overrides: Env = {}, name = 'api', entry: string = ENTRIES.api): Promise<RunningApi> {
    const port = await freePort()
    const service = this.spawn(name, entry, apiEnv(this.base, port, overrides))
    const url = `http://127.0.0.1:${port}`
    await waitFor(`${name} to be ready`, async () => {
      if (service.child.exitCode !== null) throw new Error(`${name} exited with ${service.child.exitCode}; see ${this.dir}/${name}.log`)
      const res = await request(`${url}/readyz`)
      await res.body.dump()
      return res.statusCode === 200
    }, 60_000)
    return { service, url, apiKey: this.base.API_KEYS!.split(',')[0]! }
  }

  async startWorker (name = 'worker', overrides: Env = {}, entry: string = ENTRIES.worker): Promise<Service> {
    const port = await freePort()
    const service = this.spawn(name, entry, workerEnv(this.base, port, overrides))
    await waitFor(`${name} to be ready`, async () => {
      if (service.child.exitCode !== null) throw new Error(`${name} exited with ${service.child.exitCode}; see ${this.dir}/${name}.log`)
      const res = await request(`http://127.0.0.1:${port}/readyz`)
      await res.body.dump()
      return res.statusCode === 200
    }, 60_000)
    return service
  }

  /**
   * Connects `count` tenants: a location with one contact in the sandbox, a real token pair
   * from it, and the client's active integration stored (encrypted) in PostgreSQL.
   */
  async seedTenants (count: number, label = 'tenant', opts: { expiresAt?: Date } = {}): Promise<Tenant[]> {
    const tenants: Tenant[] = []
    for (let i = 0; i < count; i++) {
      const location = await this.sandbox.addLocation(`${label} ${i}`)
      // An address too, so a tenant's contact takes email as well as SMS.
      const contact = await this.sandbox.addContact(location.id, `Contact ${label} ${i}`, `+1555${String(7000000 + i).padStart(7, '0')}`, `contact-${label}-${i}@bench.example`)
      const tokens = await this.sandbox.issueTokens(location.id)
      const clientId = `${label}-${i}`
      await this.integrations.replaceActive(clientId, {
        locationId: location.id,
        userType: 'Location',
        scopes: tokens.scope.split(' '),
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: opts.expiresAt ?? new Date(Date.now() + tokens.expires_in * 1000),
      })
      tenants.push({ clientId, locationId: location.id, contactId: contact.id })
    }
    return tenants
  }

  /**
   * Other clients' integrations, none expiring within two hours, so the scenarios run against a
   * table of `count` rows (`pnpm bench --integrations=N`). Ciphertext is never opened for them.
   */
  async seedOtherIntegrations (count: number): Promise<void> {
    const { sql } = this.database
    await sql`
      insert into ghl_integrations (client_id, location_id, access_token, refresh_token, expires_at, scopes)
      select 'other-' || g, 'other-loc' || g, 'k1:placeholder', 'k1:placeholder',
        now() + interval '2 hours' + (g % 79200) * interval '1 second', '{conversations/message.write}'
      from generate_series(1, ${count}) as g`
    await sql`vacuum analyze ghl_integrations`
  }

  /** Writes outbox rows in bulk and queues their send jobs the way the api's intake does. */
  /** `channel: 'email'`: each an email (subject and text) to the tenant's contact. */
  async enqueueDirect (messages: Array<{ tenant: Tenant, body: string }>, opts: { queue?: boolean, channel?: 'sms' | 'email' } = {}): Promise<string[]> {
    const { sql } = this.database
    const ids: string[] = []
    for (let i = 0; i < messages.length; i += 1000) {
      const chunk = messages.slice(i, i + 1000)
      const rows = await sql<Array<{ id: string, client_id: string }>>`
        insert into sms_messages ${sql(chunk.map((m) => ({
          client_id: m.tenant.clientId, contact_id: m.tenant.contactId, body: m.body,
          ...(opts.channel === 'email' ? { channel: 'email', subject: 'Reminder', body_is_html: false } : {}),
        })))}
        returning id, client_id`
      if (opts.queue !== false) {
        for (let j = 0; j < rows.length; j += 200) {
          await Promise.all(rows.slice(j, j + 200).map((r) => this.dispatcher.enqueue({ id: r.id, clientId: r.client_id })))
        }
      }
      ids.push(...rows.map((r) => r.id))
    }
    return ids
  }

  async statusCounts (): Promise<Record<string, number>> {
    const rows = await this.database.sql<Array<{ status: string, n: number }>>`select status, count(*)::int as n from sms_messages group by status`
    return Object.fromEntries(rows.map((r) => [r.status, r.n]))
  }

  /** Empties the outbox and Redis between scenarios so each starts from the same state. */
  async resetData (): Promise<void> {
    await this.database.sql`truncate sms_messages`
    await this.redisServer.flushAll()
  }

  async close (opts: { keep?: boolean } = {}): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop(5000)))
    await this.core.close().catch(() => {})
    this.destroySync(opts)
  }

  destroySync (opts: { keep?: boolean } = {}): void {
    if (!live.has(this)) return
    live.delete(this)
    for (const s of this.services) s.kill('SIGKILL')
    this.pg.destroy()
    this.redisServer.destroy()
    if (!opts.keep) rmSync(this.dir, { recursive: true, force: true })
  }
}

export const quietLogger = createLogger({ level: 'warn', name: 'bench' })
