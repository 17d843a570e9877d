/**
 * The api's OpenAPI document, built in this process: the api app is built (not started) and asked
 * for what it serves at /docs/json. Nothing here needs a running api, PostgreSQL or Redis; the
 * configuration is a placeholder, since routes and schemas do not depend on it. The document is
 * committed beside the typed client (packages/client/openapi.json), which generates its types from it.
 */
import { fileURLToPath } from 'node:url'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { buildApp } from '../src/app.ts'
import { createRuntime } from '../src/runtime.ts'

export const DOCUMENT_PATH = fileURLToPath(new URL('../../../packages/client/openapi.json', import.meta.url))

const placeholder = (c: string) => c.repeat(40)
const PLACEHOLDER_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  // Never connected to: the app is built and read, not started.
  DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
  REDIS_URL: 'redis://127.0.0.1:1',
  TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`,
  GHL_CLIENT_ID: 'openapi-document',
  GHL_CLIENT_SECRET: placeholder('s'),
  GHL_APP_ID: 'openapi-document',
  API_KEYS: placeholder('k'),
  CONNECT_LINK_SECRET: placeholder('c'),
  COOKIE_SECRET: placeholder('o'),
  ADMIN_PASSWORD: placeholder('a'),
}

export async function buildOpenApiDocument (): Promise<Record<string, unknown>> {
  const runtime = createRuntime(loadApiConfig(PLACEHOLDER_ENV), createLogger({ level: 'silent', name: 'openapi' }))
  // Nothing is listening on port 1: stop ioredis from retrying in the background meanwhile.
  runtime.redis.disconnect()
  const app = await buildApp(runtime)
  try {
    await app.ready()
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}

/** The document as committed: stable formatting, so a regeneration without changes is no diff. */
export const documentText = (doc: Record<string, unknown>) => `${JSON.stringify(doc, null, 2)}\n`
