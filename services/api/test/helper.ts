/**
 * Builds the api once per test file on its own database and Redis prefix, through the real
 * configuration module. `overrides` are environment variables.
 */
import type { Test } from 'tap'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger, type CreateLoggerOptions } from '@ghl-connect/logging'
import { createTestDatabase, eventually as pollUntil, testEnv, type TestDatabase } from '@ghl-connect/testing'
import { sandboxEnv, startSandbox, type StartedSandbox } from 'ghl-sandbox/testing'
import { buildApp, type App } from '../src/app.ts'
import { createRuntime } from '../src/runtime.ts'

export interface TestApi {
  app: App
  db: TestDatabase
  env: Record<string, string | undefined>
  apiKey: string
  auth: { authorization: string }
}

export interface TestApiWithSandbox extends TestApi { sandbox: StartedSandbox }

/** `logs`: a stream that receives the api's log lines (at info level), for a test to read them back. */
export async function buildTestApi (t: Test, overrides: Record<string, string | undefined> = {},
  opts: { logs?: CreateLoggerOptions['destination'] } = {}): Promise<TestApi> {
  const db = await createTestDatabase()
  const env = testEnv({ DATABASE_URL: db.url, ...overrides })
  const config = loadApiConfig(env)
  const logger = opts.logs
    ? createLogger({ level: 'info', name: 'api-test', destination: opts.logs })
    : createLogger({ level: config.runtime.logLevel, name: 'api-test' })
  const app = await buildApp(createRuntime(config, logger))
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await db.drop()
  })
  const apiKey = config.http.apiKeys[0]!.key
  return { app, db, env, apiKey, auth: { authorization: `Bearer ${apiKey}` } }
}

/** The api wired to a sandbox HighLevel of its own: same client credentials, base URLs and webhook key. */
export async function buildTestApiWithSandbox (t: Test, overrides: Record<string, string | undefined> = {},
  sandboxOptions: Parameters<typeof startSandbox>[0] = {}, opts: { logs?: CreateLoggerOptions['destination'] } = {}): Promise<TestApiWithSandbox> {
  const sandbox = await startSandbox({ appId: 'sandbox-app', ...sandboxOptions })
  t.teardown(() => sandbox.close())
  const api = await buildTestApi(t, {
    ...sandboxEnv(sandbox),
    GHL_APP_ID: 'sandbox-app',
    OAUTH_RATE_LIMIT_MAX: '1000',
    ...overrides,
  }, opts)
  return { ...api, sandbox }
}

/** Polls until `check` gives a value; the bound is a hang guard, not an assertion of speed. */
export const eventually = <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> =>
  pollUntil(what, check, timeoutMs)
