/**
 * A browser's steps through the connect flow against the sandbox HighLevel, shared by the flow
 * and the connect-security tests.
 */
import type { Test } from 'tap'
import { buildTestApiWithSandbox, type TestApiWithSandbox } from './helper.ts'

export const SUNRISE = 'sbxLocation000000001'
export const HARBOR = 'sbxLocation000000002'
export const AGENCY = 'sbxAgencyLoc00000001'
export const pathOf = (u: string) => { const p = new URL(u); return p.pathname + p.search }

export const CALLBACK_URL = 'http://localhost:3000/api/ghl-oauth/callback'

/** The CRM asks for a connect link: `url` starts the authorization, `connectPageUrl` opens the widget. */
export async function createLink (api: TestApiWithSandbox, clientId: string): Promise<{ url: string, connectPageUrl: string }> {
  return (await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: api.auth, payload: { clientId } })).json()
}

/** A browser opens an authorize link: its own cookie, and where HighLevel's consent is. */
export async function authorizeWith (api: TestApiWithSandbox, linkUrl: string) {
  const authorize = await api.app.inject({ url: pathOf(linkUrl) })
  if (authorize.statusCode !== 302) throw new Error(`authorize answered ${authorize.statusCode}`)
  const cookie = String(authorize.headers['set-cookie']).split(';')[0]!
  return { chooseLocationUrl: String(authorize.headers.location), cookie }
}

/** A browser's steps through the flow: its own cookie, the sandbox's consent answered for `location`. */
export async function startFlow (api: TestApiWithSandbox, clientId: string) {
  return authorizeWith(api, (await createLink(api, clientId)).url)
}

export async function approve (chooseLocationUrl: string, location: string): Promise<string> {
  const url = new URL(chooseLocationUrl)
  url.searchParams.set('location', location)
  const res = await fetch(url, { redirect: 'manual' })
  if (res.status !== 302) throw new Error(`sandbox consent answered ${res.status}: ${await res.text()}`)
  return res.headers.get('location')!
}

export async function connect (api: TestApiWithSandbox, clientId: string, location = SUNRISE) {
  const { chooseLocationUrl, cookie } = await startFlow(api, clientId)
  const callbackUrl = await approve(chooseLocationUrl, location)
  const page = await api.app.inject({ url: pathOf(callbackUrl), headers: { cookie } })
  return { page, callbackUrl, cookie }
}

/** The callback of an install started from HighLevel's marketplace: a code, no state. */
export async function marketplaceInstall (api: TestApiWithSandbox, locationId: string, headers: Record<string, string> = {}) {
  const code = api.sandbox.control.createAuthCode({ locationId, redirectUri: CALLBACK_URL })
  return api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(code)}`, headers })
}

/** The claim code the page after a marketplace install shows the installer. */
export function claimCodeOn (page: string): string {
  const match = /<code id="claim-code"[^>]*>([^<]+)<\/code>/.exec(page)
  if (!match) throw new Error('the page shows no claim code')
  return match[1]!
}

export async function setup (t: Test, overrides: Record<string, string> = {}) {
  const api = await buildTestApiWithSandbox(t, overrides)
  api.sandbox.control.configure({ autoApprove: true })
  return api
}
