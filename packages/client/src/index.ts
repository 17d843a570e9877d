/**
 * The CRM's client for ghl-connect: typed from the api's OpenAPI document (`openapi.json`,
 * `src/generated/api.ts`), with helpers for what a CRM does every day. Every helper returns the
 * api's answer or throws GhlConnectError with the api's `{error, message}` and the status.
 * `client.api` is the typed openapi-fetch client for every other route.
 */
import { randomUUID } from 'node:crypto'
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from './generated/api.ts'
import { errorFrom, GhlConnectError } from './errors.ts'
import { DEFAULT_RETRY_POLICY, withRetries } from './retries.ts'

export type { paths, components } from './generated/api.ts'
export { GhlConnectError, isGhlConnectError } from './errors.ts'
// The CRM event contract (a generated copy of @ghl-connect/crm-events): verifyEvent for your webhook,
// signEvent to sign test events in your own tests as ghl-connect signs them.
export {
  verifyEvent, signEvent, crmEventHeaders, crmEventTypes, TIMESTAMP_TOLERANCE_SECONDS,
  type CrmEvent, type CrmEventType, type EventCheck, type EventRefusal, type EventToVerify,
} from './generated/crm-events.ts'

type Json<P extends keyof paths, M extends 'get' | 'post', S extends number> =
  NonNullable<paths[P][M]> extends { responses: { [K in S]: { content: { 'application/json': infer B } } } } ? B : never
type BodyOf<P extends keyof paths> =
  NonNullable<paths[P]['post']> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never

export type ConnectLinkInput = BodyOf<'/api/ghl-oauth/connect-links'>
export type ConnectLink = Json<'/api/ghl-oauth/connect-links', 'post', 201>
export type ConnectionStatus = Json<'/api/ghl-oauth/status/{clientId}', 'get', 200>
export type SmsInput = BodyOf<'/api/sms/'>
export type SmsAccepted = Json<'/api/sms/', 'post', 202>
export type Sms = Json<'/api/sms/{id}', 'get', 200>
export type EmailInput = BodyOf<'/api/email/'>
export type EmailAccepted = Json<'/api/email/', 'post', 202>
export type Email = Json<'/api/email/{id}', 'get', 200>
export type AccessTokenInput = BodyOf<'/api/clients/{clientId}/access-tokens'>
export type AccessTokenCreated = Json<'/api/clients/{clientId}/access-tokens', 'post', 201>
export type AccessTokenList = Json<'/api/clients/{clientId}/access-tokens', 'get', 200>

export interface GhlConnectClientOptions {
  /** Where the api is, e.g. https://connect.example.com */
  baseUrl: string
  /** One of the api's API_KEYS (or a client access token, for the routes and the client it reaches). */
  apiKey: string
  /** A fetch of your own (tests, proxies); the global one otherwise. */
  fetch?: typeof globalThis.fetch
  /**
   * How many times sendSms, sendEmail, getStatus, getSms and getEmail try again after no answer or a 5xx (default 2;
   * 0: never). sendSms keeps its idempotency key across them, so a retry never sends twice.
   */
  maxRetries?: number
}

export interface GhlConnectClient {
  /** A signed, single-use link that connects `clientId` (valid 10 minutes unless `ttlSeconds`). */
  createConnectLink: (input: ConnectLinkInput) => Promise<ConnectLink>
  /** The client's connection (never a token): `connected` and the integration, or `integration: null`. */
  getStatus: (clientId: string) => Promise<ConnectionStatus>
  /**
   * Queues an SMS. Without `idempotencyKey` one is made for this call and kept across the client's
   * own retries (no answer, a 5xx), so they never send a second SMS. It comes back: a retry of
   * your own (after the client gave up, or after a restart) sends `{...input, idempotencyKey}` again.
   */
  sendSms: (input: SmsInput) => Promise<SmsAccepted & { idempotencyKey: string }>
  /** An SMS's status, attempts, error and HighLevel ids. */
  getSms: (id: string) => Promise<Sms>
  /** Queues an email, with an idempotency key kept across the client's own retries as for sendSms. */
  sendEmail: (input: EmailInput) => Promise<EmailAccepted & { idempotencyKey: string }>
  /** An email's status, attempts, error, HighLevel ids and delivery status. */
  getEmail: (id: string) => Promise<Email>
  /**
   * A token that acts for `clientId` only, with `scopes` (default: every scope but proxy), for
   * 90 days unless `expiresInSeconds`: give it to the client's assistant (/mcp), widget or own
   * integration instead of the API key. `token` is in this answer only; store it now.
   */
  createAccessToken: (clientId: string, input: AccessTokenInput) => Promise<AccessTokenCreated>
  /** The client's access tokens not revoked, without their secrets, with `lastUsedAt`. */
  listAccessTokens: (clientId: string) => Promise<AccessTokenList>
  /** Revokes a token: every api replica refuses it from its next request on. Revoking again is fine. */
  revokeAccessToken: (clientId: string, id: string) => Promise<void>
  /** The typed openapi-fetch client, for every other route. */
  api: Client<paths>
}

export function createGhlConnectClient (opts: GhlConnectClientOptions): GhlConnectClient {
  const retries = { ...DEFAULT_RETRY_POLICY, ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}) }
  const api = createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/$/, ''),
    headers: { authorization: `Bearer ${opts.apiKey}` },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  })

  /** The api's reply, or our error; a network failure is a GhlConnectError with status 0. */
  async function reply<T> (call: Promise<{ data?: T, error?: unknown, response: Response }>): Promise<{ data?: T, response: Response }> {
    let result: { data?: T, error?: unknown, response: Response }
    try {
      result = await call
    } catch (err) {
      throw new GhlConnectError(0, 'unreachable', `ghl-connect could not be reached: ${(err as Error).message}`)
    }
    if (result.response.ok) return result
    throw errorFrom(result.response, result.error)
  }

  /** The body of a 2xx. */
  async function answer<T> (call: Promise<{ data?: T, error?: unknown, response: Response }>): Promise<T> {
    const { data, response } = await reply(call)
    if (data !== undefined) return data
    throw errorFrom(response, undefined)
  }

  return {
    createConnectLink: (input) => answer(api.POST('/api/ghl-oauth/connect-links', { body: input })),
    getStatus: (clientId) => withRetries(retries, () => answer(api.GET('/api/ghl-oauth/status/{clientId}', { params: { path: { clientId } } }))),
    sendSms: async (input) => {
      const idempotencyKey = input.idempotencyKey ?? randomUUID()
      const accepted = await withRetries(retries, () => answer(api.POST('/api/sms/', { body: { ...input, idempotencyKey } })))
      return { ...accepted, idempotencyKey }
    },
    getSms: (id) => withRetries(retries, () => answer(api.GET('/api/sms/{id}', { params: { path: { id } } }))),
    sendEmail: async (input) => {
      const idempotencyKey = input.idempotencyKey ?? randomUUID()
      const accepted = await withRetries(retries, () => answer(api.POST('/api/email/', { body: { ...input, idempotencyKey } })))
      return { ...accepted, idempotencyKey }
    },
    getEmail: (id) => withRetries(retries, () => answer(api.GET('/api/email/{id}', { params: { path: { id } } }))),
    createAccessToken: (clientId, input) => answer(api.POST('/api/clients/{clientId}/access-tokens', { params: { path: { clientId } }, body: input })),
    listAccessTokens: (clientId) => withRetries(retries, () => answer(api.GET('/api/clients/{clientId}/access-tokens', { params: { path: { clientId } } }))),
    revokeAccessToken: async (clientId, id) => {
      await withRetries(retries, () => reply(api.DELETE('/api/clients/{clientId}/access-tokens/{id}', { params: { path: { clientId, id } } })))
    },
    api,
  }
}
