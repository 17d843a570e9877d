/**
 * `ghl-sandbox/testing`: a HighLevel sandbox of its own per test file, on a free loopback port, for
 * the tests of the packages and services that talk to HighLevel: `url` is what GHL_AUTH_BASE_URL
 * and GHL_API_BASE_URL get.
 */
import { randomBytes } from 'node:crypto'
import { buildSandbox, type SandboxOptions } from './app.ts'
import type { SandboxControl } from './control.ts'

export interface StartedSandbox {
  url: string
  control: SandboxControl
  clientId: string
  clientSecret: string
  close: () => Promise<void>
}

export async function startSandbox (opts: Partial<SandboxOptions> = {}): Promise<StartedSandbox> {
  const clientId = opts.clientId ?? `sandbox-client-${randomBytes(4).toString('hex')}`
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('hex')
  const { app, control } = buildSandbox({ appId: 'sandbox-app', ...opts, clientId, clientSecret })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { url: address, control, clientId, clientSecret, close: () => app.close() }
}

/** The environment that points our processes at a sandbox: its app credentials, base URLs and webhook key. */
export function sandboxEnv (sandbox: StartedSandbox): Record<string, string> {
  return {
    GHL_CLIENT_ID: sandbox.clientId,
    GHL_CLIENT_SECRET: sandbox.clientSecret,
    GHL_AUTH_BASE_URL: sandbox.url,
    GHL_API_BASE_URL: sandbox.url,
    GHL_WEBHOOK_PUBLIC_KEY: sandbox.control.webhookPublicKey().publicKey,
  }
}
