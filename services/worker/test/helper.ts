/**
 * One world per test file: its own PostgreSQL database, Redis prefix and sandbox HighLevel, and
 * the same repositories, queues and dispatcher the api uses to take an SMS in. Workers run either
 * in-process (`startInProcess`) or as real processes (`spawnWorker`, `node --import=tsx main.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import { loadWorkerConfig, type WorkerConfig } from '@ghl-connect/config'
import type { ContactDndRepository, IntegrationsRepository, Integration, NewEmailParts, OutboxMessage, Recipient, SmsMessagesRepository } from '@ghl-connect/db'
import { createLogger, type CreateLoggerOptions } from '@ghl-connect/logging'
import type { Queues, SmsDispatcher } from '@ghl-connect/queues'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import { createCore, type CrmEvents } from '@ghl-connect/core'
import { createTestDatabase, eventually, freePort, testEnv, type TestDatabase } from '@ghl-connect/testing'
import { sandboxEnv, startSandbox, type StartedSandbox } from 'ghl-sandbox/testing'
import { startWorker, type RunningWorker } from '../src/worker.ts'

export const SUNRISE = 'sbxLocation000000001'
export const HARBOR = 'sbxLocation000000002'
export const JANE = 'sbxContact0000000001'
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface SpawnedWorker {
  child: ChildProcess
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  output: () => string
}

export interface World {
  db: TestDatabase
  sandbox: StartedSandbox
  env: Record<string, string | undefined>
  config: WorkerConfig
  redis: Redis
  keys: RedisKeys
  queues: Queues
  integrations: IntegrationsRepository
  messages: SmsMessagesRepository
  /** What the api's ContactDndUpdate webhook writes. */
  contactDnd: ContactDndRepository
  dispatcher: SmsDispatcher
  /** Records and queues CRM events as the api and the worker do (a no-op without CRM_WEBHOOK_URL). */
  crmEvents: CrmEvents
  /** An active integration with real sandbox tokens; `expired`: the access token is already dead. */
  connect: (clientId: string, opts?: { locationId?: string, expired?: boolean, scopes?: string[] }) => Promise<Integration>
  /** What POST /api/sms does: the outbox row, then the job. */
  submit: (clientId: string, to: Recipient, body?: string) => Promise<OutboxMessage>
  /** What POST /api/email does: the outbox row (channel email), then the job. `body` is the text, or the HTML with `bodyIsHtml`. */
  submitEmail: (clientId: string, to: Recipient, email?: Partial<NewEmailParts> & { body?: string }) => Promise<OutboxMessage>
  /** `logs`: a stream that receives the worker's log lines, for a test to read them back. */
  startInProcess: (overrides?: Record<string, string>, opts?: { logs?: CreateLoggerOptions['destination'] }) => Promise<RunningWorker>
  spawnWorker: (overrides?: Record<string, string>) => SpawnedWorker
  /** A worker process whose health server listens (WORKER_HEALTH_PORT), returned once it has started. */
  spawnWorkerWithHealth: (overrides?: Record<string, string>) => Promise<SpawnedWorker & { port: number }>
  /** Deletes every Redis key of this file's prefix (never another file's). */
  flushRedis: () => Promise<number>
}

export async function createWorld (t: Test, overrides: Record<string, string> = {}, sandboxOptions: Parameters<typeof startSandbox>[0] = {}): Promise<World> {
  const db = await createTestDatabase()
  const sandbox = await startSandbox(sandboxOptions)
  const env = testEnv({
    DATABASE_URL: db.url,
    ...sandboxEnv(sandbox),
    GHL_HTTP_TIMEOUT_MS: '5000',
    SMS_RETRY_BASE_MS: '50',
    WORKER_SHUTDOWN_TIMEOUT_MS: '8000',
    ...overrides,
  })
  const config = loadWorkerConfig(env)
  // The test's side of the world (what the api does to take an SMS in) is built like any process's.
  const core = createCore(config, createLogger({ level: config.runtime.logLevel, name: 'worker-test-world' }), { service: 'worker' })
  const { redis, keys, queues, integrations, smsMessages: messages, dispatcher } = core
  const running: RunningWorker[] = []
  const children: SpawnedWorker[] = []

  const flushRedis = async () => {
    let deleted = 0
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', keys.everyKeyPattern, 'COUNT', 1000)
      cursor = next
      if (found.length > 0) deleted += await redis.del(...found)
    } while (cursor !== '0')
    return deleted
  }

  t.teardown(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
    await Promise.all(children.map((c) => c.exited))
    await Promise.all(running.map((w) => w.stop()))
    await flushRedis()
    await core.close()
    await sandbox.close()
    await db.drop()
  })

  const self: World = {
    db,
    sandbox,
    env,
    config,
    redis,
    keys,
    contactDnd: core.contactDnd,
    queues,
    integrations,
    messages,
    dispatcher,
    crmEvents: core.crmEvents,
    flushRedis,
    connect: async (clientId, opts = {}) => {
      const control = sandbox.control
      const locationId = opts.locationId ?? SUNRISE
      if (opts.expired) control.configure({ accessTokenTtlSeconds: 1 })
      const tokens = control.issueTokens({ locationId, scopes: opts.scopes })
      control.configure({ accessTokenTtlSeconds: 86_399 })
      if (opts.expired) control.advanceClock(2000)
      // One location, one client: a test's client takes the location over, as if its holder had disconnected first.
      const holder = await integrations.findByLocationId(locationId)
      if (holder?.clientId && holder.clientId !== clientId) await integrations.deactivate(holder.clientId)
      return integrations.replaceActive(clientId, {
        locationId,
        locationName: 'Sandbox location',
        userType: 'Location',
        scopes: String(tokens.scope ?? '').split(' '),
        accessToken: tokens.access_token,
        refreshToken: String(tokens.refresh_token),
        expiresAt: new Date(Date.now() + (opts.expired ? -60_000 : 86_399_000)),
      })
    },
    submit: async (clientId, to, body = `Message ${randomUUID()}`) => {
      const integration = await integrations.findByClient(clientId)
      const { message } = await messages.insertOnce({ clientId, integrationId: integration?.id ?? null, idempotencyKey: null, to, body })
      await dispatcher.enqueue(message)
      return message
    },
    submitEmail: async (clientId, to, email = {}) => {
      const integration = await integrations.findByClient(clientId)
      const { message } = await messages.insertOnce({
        clientId, integrationId: integration?.id ?? null, idempotencyKey: null, to, body: email.body ?? `Email ${randomUUID()}`,
        email: { subject: email.subject ?? 'A subject', bodyIsHtml: email.bodyIsHtml ?? false, options: email.options ?? {} },
      })
      await dispatcher.enqueue(message)
      return message
    },
    startInProcess: async (extra = {}, opts = {}) => {
      const workerConfig = loadWorkerConfig({ ...env, ...extra })
      const logger = opts.logs
        ? createLogger({ level: 'info', name: 'worker-test', destination: opts.logs })
        : createLogger({ level: workerConfig.runtime.logLevel, name: 'worker-test' })
      const worker = await startWorker(workerConfig, logger)
      running.push(worker)
      return worker
    },
    spawnWorker: (extra = {}) => {
      const child = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], {
        cwd: ROOT, env: { ...process.env, ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout?.on('data', (d) => { output += d })
      child.stderr?.on('data', (d) => { output += d })
      const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }))
      })
      const spawned = { child, exited, output: () => output }
      children.push(spawned)
      return spawned
    },
    spawnWorkerWithHealth: async (extra = {}) => {
      // A port found free can be taken by another test's process before this worker binds it;
      // the worker then exits on EADDRINUSE (as it should), and is started again on another port.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort()
        // info level for the 'worker started' line, written once its health server listens
        const worker = self.spawnWorker({ LOG_LEVEL: 'info', ...extra, WORKER_HEALTH_PORT: String(port) })
        const started = await eventually(`the worker with its health server on ${port} to start or exit`, () => {
          if (worker.child.exitCode !== null || worker.child.signalCode !== null) return 'exited'
          return worker.output().includes('"msg":"worker started"') ? 'started' : undefined
        }, 90_000)
        if (started === 'started') return { ...worker, port }
        if (!worker.output().includes('EADDRINUSE') || attempt === 3) throw new Error(`the worker exited before it started:\n${worker.output()}`)
      }
    },
  }
  return self
}

/** `eventually` polls until `check` returns a value (its bound is a hang guard, not an assertion of speed); `freePort` finds a loopback port. */
export { eventually, freePort }

/** How many outbox rows are in each status. */
export async function statusCounts (world: World): Promise<Record<string, number>> {
  const rows = await world.db.sql<Array<{ status: string, n: number }>>`select status, count(*)::int as n from sms_messages group by status`
  return Object.fromEntries(rows.map((r) => [r.status, r.n]))
}

/** Waits until the message is sent or failed, and returns its row. */
export function settled (world: World, id: string, timeoutMs?: number): Promise<OutboxMessage> {
  return eventually(`sms ${id} to be sent or failed`, async () => {
    const row = await world.messages.findById(id)
    return row && (row.status === 'sent' || row.status === 'failed') ? row : undefined
  }, timeoutMs)
}
