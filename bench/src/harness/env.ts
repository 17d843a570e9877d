/**
 * The environment of each child process, built from the variables the configuration module
 * reads (and checked by it before anything starts), with fresh secrets as a deployment has.
 */
import { loadApiConfig, loadSandboxConfig, loadWorkerConfig } from '@ghl-connect/config'
import { testEnv } from '@ghl-connect/testing'

export type Env = Record<string, string | undefined>

export interface Endpoints { databaseUrl: string, redisUrl: string, sandboxUrl: string }

/** The variables api, worker and sandbox share (same app credentials, same keys). */
export function baseEnv (endpoints: Endpoints, overrides: Env = {}): Env {
  return testEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: endpoints.databaseUrl,
    REDIS_URL: endpoints.redisUrl,
    REDIS_KEY_PREFIX: 'ghl',
    GHL_AUTH_BASE_URL: endpoints.sandboxUrl,
    GHL_API_BASE_URL: endpoints.sandboxUrl,
    GHL_APP_ID: 'sandbox-app',
    ...overrides,
  })
}

export function apiEnv (base: Env, port: number, overrides: Env = {}): Env {
  // The limits are not what is measured: the intake runs far past them (the per-key count still runs).
  const env = { ...base, PORT: String(port), HOST: '127.0.0.1', APP_URL: `http://127.0.0.1:${port}`, CRM_ORIGIN: `http://127.0.0.1:${port}`, OAUTH_RATE_LIMIT_MAX: '1000000', API_RATE_LIMIT_MAX: '1000000000', ...overrides }
  loadApiConfig(env)
  return env
}

export function workerEnv (base: Env, healthPort: number, overrides: Env = {}): Env {
  const env = { ...base, WORKER_HEALTH_PORT: String(healthPort), ...overrides }
  loadWorkerConfig(env)
  return env
}

export function sandboxEnv (base: Env, port: number, overrides: Env = {}): Env {
  const env = { ...base, SANDBOX_PORT: String(port), SANDBOX_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...overrides }
  loadSandboxConfig(env)
  return env
}
