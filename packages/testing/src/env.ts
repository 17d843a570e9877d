import { randomBytes } from 'node:crypto'
import { randomEncryptionKey, TEST_PGBOUNCER_URL } from '@ghl-connect/db/testing'

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A Redis key prefix of its own per test file, so BullMQ queues and locks never collide. */
export function uniqueRedisPrefix (label = 't'): string {
  return `test-${label}-${randomBytes(5).toString('hex')}`
}

/**
 * A complete environment with freshly generated secrets, in the same shape a deployment sets,
 * so tests go through the real configuration module.
 */
export function testEnv (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: uniqueRedisPrefix(),
    TOKEN_ENCRYPTION_KEYS: randomEncryptionKey('k1'),
    GHL_CLIENT_ID: `sandbox-client-${randomBytes(4).toString('hex')}`,
    GHL_CLIENT_SECRET: randomBytes(24).toString('hex'),
    GHL_APP_ID: 'sandbox-app',
    API_KEYS: randomBytes(32).toString('hex'),
    CONNECT_LINK_SECRET: randomBytes(32).toString('hex'),
    COOKIE_SECRET: randomBytes(32).toString('hex'),
    ADMIN_PASSWORD: randomBytes(16).toString('hex'),
    // the pgbouncer test target: DATABASE_URL (a test database's url) is then the pooler
    ...(TEST_PGBOUNCER_URL ? { DATABASE_TRANSACTION_POOLER: 'true' } : {}),
    ...overrides,
  }
}
