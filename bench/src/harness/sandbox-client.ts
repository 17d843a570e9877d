/** The sandbox's control API (/_sandbox/), over HTTP like any user of the standalone sandbox. */
import { request } from 'undici'

export interface SentMessage { seq: number, locationId: string, contactId: string, body: string, messageId: string, sentAt: string }
export interface SandboxStats { codeExchanges: number, refreshes: number, invalidGrants: number, locationInactive: number, rateLimited: number, messagesSent: number, answersLost?: number, messageExports?: number, messageLookups?: number, contactReads?: number, messageWebhooksDropped?: number, locationTokens?: number, locationTokensRepeated?: number, companyRateLimited?: number }
export interface TokenAnswer { access_token: string, refresh_token: string, expires_in: number, scope: string, locationId: string }

export class SandboxClient {
  constructor (readonly url: string) {}

  async call<T> (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await request(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    if (res.statusCode >= 400) throw new Error(`sandbox ${method} ${path}: ${res.statusCode} ${text}`)
    return (text ? JSON.parse(text) : undefined) as T
  }

  addLocation = (name: string) => this.call<{ id: string }>('POST', '/_sandbox/locations', { name })
  addContact = (locationId: string, name: string, phone: string, email?: string) => this.call<{ id: string }>('POST', '/_sandbox/contacts', { locationId, name, phone, email })
  issueTokens = (locationId: string) => this.call<TokenAnswer>('POST', '/_sandbox/tokens', { locationId })
  messages = async (locationId?: string) => (await this.call<{ messages: SentMessage[] }>('GET', `/_sandbox/messages${locationId ? `?locationId=${locationId}` : ''}`)).messages
  stats = () => this.call<SandboxStats>('GET', '/_sandbox/stats')
  setFaults = (faults: Record<string, unknown>, locationId?: string) => this.call('PUT', '/_sandbox/faults', { ...faults, locationId })
  clearFaults = () => this.call('DELETE', '/_sandbox/faults')
  setRateLimit = (limit: { max?: number, intervalMs?: number, daily?: number }) => this.call('PUT', '/_sandbox/rate-limit', limit)
  settings = (patch: Record<string, unknown>) => this.call('PUT', '/_sandbox/settings', patch)
}
