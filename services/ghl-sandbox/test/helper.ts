/** The sandbox listening on a free loopback port, closed when the test ends. */
import type { Test } from 'tap'
import { buildSandbox, type SandboxOptions } from '../src/index.ts'

export const REDIRECT_URI = 'http://127.0.0.1:9/callback'
export const SUNRISE = 'sbxLocation000000001'

export async function listening (t: Test, options: Partial<SandboxOptions> = {}) {
  const sandbox = buildSandbox({ clientId: 'app-client', clientSecret: 'app-secret-value', appId: 'app-1', redirectUris: [REDIRECT_URI], ...options })
  const url = await sandbox.app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => sandbox.app.close())
  return { ...sandbox, url }
}

export const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual' as const,
})

export const json = (method: string, body: unknown) => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})
