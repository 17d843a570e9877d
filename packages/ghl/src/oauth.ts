/**
 * HighLevel's OAuth for this app: the consent page, the code exchange and the refresh (the token
 * endpoint, with the app's secret), and what an agency (Company) token can do for its locations.
 */
import { requireField, withoutTrailingSlashes, type Authorized, type GhlTransport } from './transport.ts'
import type { GhlAnswer, InstalledLocationsResult, LocationTokenResponse, TokenResponse, UserType } from './types.ts'
import { GHL_VERSIONS } from './versions.ts'

export interface OAuthAppOptions {
  clientId: string
  clientSecret: string
  redirectUri: string
  /** Where the browser is sent to approve (marketplace host). */
  authBaseUrl: string
  /** Scopes asked for by `authorizeUrl` when the call names none. */
  scopes?: readonly string[]
}

export class OAuthClient {
  private readonly authBaseUrl: string

  constructor (private readonly transport: GhlTransport, private readonly app: OAuthAppOptions) {
    this.authBaseUrl = withoutTrailingSlashes(app.authBaseUrl)
  }

  /** HighLevel's consent page (chooselocation) for this app. `state` comes back on the callback. */
  authorizeUrl ({ state, scopes, loginWindowOpenMode }: { state?: string, scopes?: readonly string[], loginWindowOpenMode?: 'self' } = {}): string {
    const params: Array<[string, string]> = [
      ['response_type', 'code'],
      ['client_id', this.app.clientId],
      ['redirect_uri', this.app.redirectUri],
      ['scope', (scopes ?? this.app.scopes ?? []).join(' ')],
    ]
    if (state !== undefined) params.push(['state', state])
    if (loginWindowOpenMode) params.push(['loginWindowOpenMode', loginWindowOpenMode])
    // encodeURIComponent, not URLSearchParams: scopes must be separated by %20, not `+`.
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
    return `${this.authBaseUrl}/v2/oauth/chooselocation?${query}`
  }

  exchangeCode ({ code, userType = 'Location' }: { code: string, userType?: UserType }): Promise<GhlAnswer<TokenResponse>> {
    return this.tokenCall('exchangeCode', { grant_type: 'authorization_code', code, user_type: userType })
  }

  /** `timeoutMs`: HighLevel spends the refresh token when it accepts, so giving up early loses the new pair. */
  refreshToken ({ refreshToken, userType = 'Location', timeoutMs }: { refreshToken: string, userType?: UserType, timeoutMs?: number }): Promise<GhlAnswer<TokenResponse>> {
    return this.tokenCall('refreshToken', { grant_type: 'refresh_token', refresh_token: refreshToken, user_type: userType }, timeoutMs)
  }

  /** An agency (Company) token mints a token for one of its locations. */
  async getLocationToken ({ accessToken, companyId, locationId }: Authorized & { companyId: string, locationId: string }): Promise<GhlAnswer<LocationTokenResponse>> {
    const answer = await this.transport.call<LocationTokenResponse>({
      operation: 'getLocationToken', method: 'POST', path: '/oauth/locationToken', version: GHL_VERSIONS.oauth,
      accessToken, form: { companyId, locationId },
    })
    requireField(answer, 'access_token', 'getLocationToken')
    return answer
  }

  /** One page of the locations of `companyId` the app `appId` is installed on (agency token). */
  async getInstalledLocations ({ accessToken, companyId, appId, skip = 0, limit = 100 }: Authorized & { companyId: string, appId: string, skip?: number, limit?: number }): Promise<GhlAnswer<InstalledLocationsResult>> {
    const answer = await this.transport.call<InstalledLocationsResult>({
      operation: 'getInstalledLocations', method: 'GET', path: '/oauth/installedLocations', version: GHL_VERSIONS.oauth,
      accessToken, query: { companyId, appId, isInstalled: 'true', skip: String(skip), limit: String(limit) },
    })
    requireField(answer, 'locations', 'getInstalledLocations')
    return answer
  }

  private async tokenCall (operation: string, grant: Record<string, string>, timeoutMs?: number): Promise<GhlAnswer<TokenResponse>> {
    const answer = await this.transport.call<TokenResponse>({
      operation, method: 'POST', path: '/oauth/token', timeoutMs,
      form: { client_id: this.app.clientId, client_secret: this.app.clientSecret, ...grant, redirect_uri: this.app.redirectUri },
    })
    requireField(answer, 'access_token', operation)
    return answer
  }
}
