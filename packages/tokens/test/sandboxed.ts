/** What a tokens test runs against: its own database, a HighLevel sandbox, Redis, and a client connected to it. */
import type { Test } from 'tap'
import { loadWorkerConfig } from '@ghl-connect/config'
import { IntegrationsRepository, TokenCipher, TokenRefreshAnswersRepository, TokenRefreshLeasesRepository } from '@ghl-connect/db'
import { GhlClient } from '@ghl-connect/ghl'
import { createLogger } from '@ghl-connect/logging'
import { createRedis } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { createTestDatabase, testEnv } from '@ghl-connect/testing'
import { startSandbox } from 'ghl-sandbox/testing'
import { ghlTokenEndpoint, TokenService, type TokenServiceOptions } from '../src/index.ts'

export const LOCATION = 'sbxLocation000000001'

export async function sandboxed (t: Test) {
  const db = await createTestDatabase()
  const sandbox = await startSandbox()
  const config = loadWorkerConfig(testEnv({ DATABASE_URL: db.url, GHL_CLIENT_ID: sandbox.clientId, GHL_CLIENT_SECRET: sandbox.clientSecret, GHL_API_BASE_URL: sandbox.url, GHL_AUTH_BASE_URL: sandbox.url }))
  const redis = createRedis(config.redis.url)
  const keys = new RedisKeys(config.redis.keyPrefix)
  const ghl = new GhlClient(config.ghl)
  const cipher = new TokenCipher(config.encryption.keys)
  const integrations = new IntegrationsRepository(db.db, cipher)
  const refreshAnswers = new TokenRefreshAnswersRepository(db.db, cipher)
  t.teardown(async () => { await ghl.close(); redis.disconnect(); await sandbox.close(); await db.drop() })

  /** A client connected to the sandbox's location, its token expiring in `expiresInMs`. */
  async function connected (clientId: string, expiresInMs: number) {
    const issued = sandbox.control.issueTokens({ locationId: LOCATION })
    // One location, one client: each test's client takes the location over, as if its holder had disconnected first.
    const holder = await integrations.findByLocationId(LOCATION)
    if (holder?.clientId && holder.clientId !== clientId) await integrations.deactivate(holder.clientId)
    return integrations.replaceActive(clientId, {
      locationId: LOCATION, userType: 'Location', scopes: [], accessToken: issued.access_token,
      refreshToken: String(issued.refresh_token), expiresAt: new Date(Date.now() + expiresInMs),
    })
  }

  /** A TokenService as one process has it (each call: another process, sharing PostgreSQL, Redis and HighLevel). */
  function tokenService (opts: Partial<TokenServiceOptions> = {}) {
    return new TokenService({
      redis, keys, integrations, refreshAnswers, refreshLeases: new TokenRefreshLeasesRepository(db.db),
      endpoint: ghlTokenEndpoint(ghl), logger: createLogger({ level: 'silent' }), callTimeoutMs: 10_000, ...opts,
    })
  }
  return { db, sandbox, config, redis, keys, ghl, integrations, refreshAnswers, connected, tokenService }
}
