/**
 * Connections in every state ops tell apart, written through the repository the api uses (real
 * rows, real ciphertext), for the /admin/connections tests.
 */
import { randomUUID } from 'node:crypto'
import type { TestApi } from './helper.ts'

export const HOSTILE_NAME = `<script>alert("x")</script><img src=x onerror=alert(1)> & 'Bob's' Dental`

export const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })
export const adminAuth = (api: TestApi) => basic(api.env.ADMIN_USER ?? 'admin', api.env.ADMIN_PASSWORD!)

const HOUR = 3_600_000

/** Seeds the connections; returns the client ids in the order the page must list them, and the tokens it must never show. */
export async function seedConnections (api: TestApi) {
  const { integrations } = api.app.runtime
  const tokens: string[] = []
  const connect = async (clientId: string, expiresInMs: number, locationName: string | null = `${clientId} Clinic`, locationId = `loc-${clientId}`) => {
    const accessToken = `at-${randomUUID()}`
    const refreshToken = `rt-${randomUUID()}`
    tokens.push(accessToken, refreshToken)
    return integrations.replaceActive(clientId, {
      locationId, locationName, userType: 'Location', scopes: [], accessToken, refreshToken, expiresAt: new Date(Date.now() + expiresInMs),
    })
  }

  const healthy = await connect('client-healthy', 20 * HOUR)
  await connect('client-healthy-2', 22 * HOUR)
  await api.db.sql`update ghl_integrations set last_refreshed_at = now() - interval '4 hours' where id = ${healthy.id}`
  // Both within the sweep's horizon (TOKEN_SWEEP_HORIZON_SECONDS, 10 minutes): expiring, the sooner first.
  await connect('client-soon', 4 * 60_000)
  await connect('client-later', 8 * 60_000)
  // Two failed refreshes, then the refresh token refused: the client must reconnect.
  const reauth = await connect('client-reauth', 5 * HOUR)
  await integrations.recordRefreshFailure(reauth.id, reauth.tokenVersion, { code: 'transient', error: 'HighLevel answered 503' })
  await integrations.recordRefreshFailure(reauth.id, reauth.tokenVersion, { code: 'invalid_grant', status: 'needs_reauth', error: 'Invalid grant: refresh token is invalid' })
  const paused = await connect('client-paused', 3 * HOUR, HOSTILE_NAME)
  await integrations.recordRefreshFailure(paused.id, paused.tokenVersion, { code: 'location_inactive', status: 'location_inactive', error: 'Location is not active' })
  // Connected twice: listed once, as its current (active) connection.
  await connect('client-replaced', 18 * HOUR, 'Old Location', 'loc-old')
  await connect('client-replaced', 19 * HOUR)
  await connect('client-gone', 21 * HOUR)
  await integrations.deactivate('client-gone')
  const unclaimedToken = `at-${randomUUID()}`
  tokens.push(unclaimedToken)
  await integrations.saveUnclaimed({ locationId: 'loc-unclaimed', locationName: 'Walk-in Salon', userType: 'Location', scopes: [], accessToken: unclaimedToken, refreshToken: null, expiresAt: new Date(Date.now() + 23 * HOUR) })

  return {
    tokens,
    order: ['client-reauth', 'client-paused', 'client-soon', 'client-later', 'client-replaced', 'client-healthy', 'client-healthy-2', '', 'client-gone'],
  }
}

/** The client ids of the table's rows, top to bottom. */
export const listedClients = (html: string) => [...html.matchAll(/<tr data-client-id="([^"]*)"/g)].map((m) => m[1]!)
