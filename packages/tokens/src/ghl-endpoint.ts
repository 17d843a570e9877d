import { GhlError, type GhlClient } from '@ghl-connect/ghl'
import type { TokenEndpoint } from './token-service.ts'

/** The refresh path's view of HighLevel's token endpoint, through the one HighLevel client. */
export function ghlTokenEndpoint (client: GhlClient): TokenEndpoint {
  return {
    refresh: async (integration, { timeoutMs }) => {
      if (!integration.refreshToken) throw new GhlError('invalid_grant', 'No refresh token is stored for this integration', { operation: 'refreshToken' })
      const { data } = await client.oauth.refreshToken({
        refreshToken: integration.refreshToken,
        userType: integration.userType === 'Company' ? 'Company' : 'Location',
        timeoutMs,
      })
      return {
        accessToken: data.access_token,
        refreshToken: data.refresh_token ?? null,
        expiresAt: new Date(Date.now() + (data.expires_in ?? 86_399) * 1000),
        scopes: data.scope ? data.scope.split(/\s+/).filter(Boolean) : undefined,
      }
    },
    mintLocationToken: async (agency, locationId) => {
      if (!agency.accessToken || !agency.companyId) throw new GhlError('invalid_grant', 'The agency connection holds no token', { operation: 'getLocationToken' })
      const { data } = await client.oauth.getLocationToken({ accessToken: agency.accessToken, companyId: agency.companyId, locationId })
      return {
        accessToken: data.access_token,
        refreshToken: null,
        expiresAt: new Date(Date.now() + (data.expires_in ?? 86_399) * 1000),
        scopes: data.scope ? data.scope.split(/\s+/).filter(Boolean) : undefined,
      }
    },
    classify: (err) => {
      if (err instanceof GhlError && (err.kind === 'invalid_grant' || err.kind === 'location_inactive')) return err.kind
      return 'transient'
    },
  }
}
