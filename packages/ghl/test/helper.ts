/** A sandbox and a client pointed at it, per test file; `connect` goes through consent and the code exchange. */
import { randomBytes } from 'node:crypto'
import { startSandbox, type StartedSandbox } from 'ghl-sandbox/testing'
import type { Test } from 'tap'
import { GhlClient, GhlError, type GhlClientOptions, type TokenResponse } from '../src/index.ts'

export const REDIRECT_URI = 'http://127.0.0.1:9/api/ghl-oauth/callback'
export const APP_SCOPES = ['conversations/message.write', 'conversations/message.readonly', 'contacts.readonly', 'contacts.write', 'locations.readonly']
export const SUNRISE = 'sbxLocation000000001'
export const HARBOR = 'sbxLocation000000002'
export const AGENCY_LOCATION = 'sbxAgencyLoc00000001'
export const JANE = 'sbxContact0000000001'

export interface Harness {
  sandbox: StartedSandbox
  client: GhlClient
  clientFor: (overrides: Partial<GhlClientOptions>) => GhlClient
  /** Consent (auto-approved) for `locationId`, then the code exchange. */
  connect: (locationId?: string, scopes?: string[]) => Promise<TokenResponse>
  /** A code from the consent page, without exchanging it. */
  authorize: (locationId?: string, scopes?: string[]) => Promise<{ code: string, state: string | null }>
}

export async function harness (t: Test, sandboxOptions: Parameters<typeof startSandbox>[0] = {}, clientOptions: Partial<GhlClientOptions> = {}): Promise<Harness> {
  const sandbox = await startSandbox({ autoApprove: true, redirectUris: [REDIRECT_URI], ...sandboxOptions })
  const clients: GhlClient[] = []
  const clientFor = (overrides: Partial<GhlClientOptions>) => {
    const client = new GhlClient({
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
      redirectUri: REDIRECT_URI,
      authBaseUrl: sandbox.url,
      apiBaseUrl: sandbox.url,
      httpTimeoutMs: 5_000,
      scopes: APP_SCOPES,
      ...clientOptions,
      ...overrides,
    })
    clients.push(client)
    return client
  }
  const client = clientFor({})
  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await sandbox.close()
  })

  const authorize = async (locationId = SUNRISE, scopes = APP_SCOPES) => {
    const state = randomBytes(8).toString('hex')
    const response = await fetch(`${client.oauth.authorizeUrl({ state, scopes })}&location=${locationId}`, { redirect: 'manual' })
    const location = response.headers.get('location')
    if (response.status !== 302 || !location) throw new Error(`consent did not redirect (status ${response.status})`)
    const callback = new URL(location)
    return { code: callback.searchParams.get('code') ?? '', state: callback.searchParams.get('state') }
  }
  const connect = async (locationId = SUNRISE, scopes = APP_SCOPES) => {
    const { code } = await authorize(locationId, scopes)
    return (await client.oauth.exchangeCode({ code })).data
  }
  return { sandbox, client, clientFor, connect, authorize }
}

/** Runs `fn` and hands back the GhlError it must throw. */
export async function failure (fn: () => Promise<unknown>): Promise<GhlError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof GhlError) return err
    throw err
  }
  throw new Error('expected the call to fail with a GhlError, it succeeded')
}
