/**
 * A real api listening on a loopback port (its own database, Redis prefix and sandbox HighLevel),
 * as a CRM reaches it, and a browser's steps through the connect flow against it.
 */
import type { Test } from 'tap'
import { buildApp, createRuntime } from 'api'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { createTestDatabase, testEnv, type TestDatabase } from '@ghl-connect/testing'
import { sandboxEnv, startSandbox, type StartedSandbox } from 'ghl-sandbox/testing'

export const SUNRISE = 'sbxLocation000000001'
export const HARBOR = 'sbxLocation000000002'

export interface RunningApi {
  url: string
  apiKey: string
  db: TestDatabase
  sandbox: StartedSandbox
  env: Record<string, string | undefined>
}

export async function startApi (t: Test, overrides: Record<string, string> = {}): Promise<RunningApi> {
  const db = await createTestDatabase()
  const sandbox = await startSandbox({ appId: 'sandbox-app' })
  sandbox.control.configure({ autoApprove: true })
  const env = testEnv({
    DATABASE_URL: db.url,
    ...sandboxEnv(sandbox),
    OAUTH_RATE_LIMIT_MAX: '1000',
    CRM_ORIGIN: 'https://crm.example.com',
    ...overrides,
  })
  const config = loadApiConfig(env)
  const app = await buildApp(createRuntime(config, createLogger({ level: 'silent', name: 'client-test-api' })))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await app.close()
    await sandbox.close()
    await db.drop()
  })
  return { url, apiKey: config.http.apiKeys[0]!.key, db, sandbox, env }
}

/** A user opens the link, approves `locationId` in HighLevel, and lands on the callback page: what a browser does. */
export async function connectInBrowser (api: RunningApi, linkUrl: string, locationId: string): Promise<Response> {
  const local = (u: string) => { const p = new URL(u); return new URL(p.pathname + p.search, api.url) }
  const authorize = await fetch(local(linkUrl), { redirect: 'manual' })
  if (authorize.status !== 302) throw new Error(`authorize answered ${authorize.status}`)
  const cookie = authorize.headers.get('set-cookie')!.split(';')[0]!
  const consent = new URL(authorize.headers.get('location')!)
  consent.searchParams.set('location', locationId)
  const approved = await fetch(consent, { redirect: 'manual' })
  if (approved.status !== 302) throw new Error(`the sandbox's consent answered ${approved.status}`)
  return fetch(local(approved.headers.get('location')!), { headers: { cookie } })
}
