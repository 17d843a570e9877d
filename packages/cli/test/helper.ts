/**
 * One world per test file: its own database and Redis prefix, the configuration a deployment
 * would give the CLI, the repositories to set the scene with, and `ghl(...)`: the CLI's main run
 * with argv as the operator types it, its stdout and stderr captured.
 */
import type { Test } from 'tap'
import { loadCliConfig, type CliConfig } from '@ghl-connect/config'
import { CrmEventsRepository, IntegrationsRepository, SmsMessagesRepository, TokenCipher, type Integration } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { createCore, type Core } from '@ghl-connect/core'
import { createTestDatabase, testEnv, type TestDatabase } from '@ghl-connect/testing'
import { main, type MainOptions } from '../src/main.ts'

export interface Run { code: number, stdout: string, stderr: string }

export interface World {
  db: TestDatabase
  env: Record<string, string | undefined>
  config: CliConfig
  /** The other side of the system (api and worker) as the scene needs it, on the same database and Redis prefix. */
  core: Core
  integrations: IntegrationsRepository
  messages: SmsMessagesRepository
  events: CrmEventsRepository
  ghl: (argv: string[], opts?: MainOptions) => Promise<Run>
  connect: (clientId: string, opts?: { locationId?: string, locationName?: string, expiresInMs?: number }) => Promise<Integration>
}

export async function createWorld (t: Test, overrides: Record<string, string> = {}): Promise<World> {
  const db = await createTestDatabase()
  const env = testEnv({
    DATABASE_URL: db.url,
    CRM_WEBHOOK_URL: 'http://127.0.0.1:9/crm-events',
    CRM_WEBHOOK_SECRET: 'crm-webhook-secret-of-at-least-32-characters',
    CRM_ORIGIN: 'https://crm.example.com',
    APP_URL: 'https://connect.example.com',
    ...overrides,
  })
  const config = loadCliConfig(env)
  const core = createCore(config, createLogger({ level: 'silent', name: 'cli-test-world' }), { service: 'worker' })
  const integrations = new IntegrationsRepository(db.db, new TokenCipher(config.encryption.keys))
  t.teardown(async () => {
    const { redis, keys } = core
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', keys.everyKeyPattern, 'COUNT', 1000)
      cursor = next
      if (found.length > 0) await redis.del(...found)
    } while (cursor !== '0')
    await core.close()
    await db.drop()
  })
  let n = 0
  return {
    db,
    env,
    config,
    core,
    integrations,
    messages: core.smsMessages,
    events: new CrmEventsRepository(db.db),
    ghl: async (argv, opts = {}) => {
      let stdout = ''
      let stderr = ''
      const code = await main(argv, { stdout: { write: (s: string) => { stdout += s } }, stderr: { write: (s: string) => { stderr += s } } }, { env, ...opts })
      return { code, stdout, stderr }
    },
    connect: async (clientId, opts = {}) => {
      n++
      const { integration } = await integrations.connectClient(clientId, {
        locationId: opts.locationId ?? `sbxLocation${String(n).padStart(9, '0')}`,
        locationName: opts.locationName ?? null,
        userType: 'Location',
        scopes: ['conversations/message.write'],
        accessToken: `access-token-of-${clientId}`,
        refreshToken: `refresh-token-of-${clientId}`,
        expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 20 * 3_600_000)),
      })
      return integration
    },
  }
}
