/**
 * Which token an SMS is sent with: the client's own OAuth token through the one refresh path, or,
 * during the seed's migration phases (GHL_LEGACY_PIT_FALLBACK on), the legacy Private Integration
 * Token for a client that has not connected yet.
 */
import type { Integration } from '@ghl-connect/db'
import { isAppError } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { TokenService } from '@ghl-connect/tokens'

export type Credential =
  | { kind: 'oauth', clientId: string, locationId: string, accessToken: string, integration: Integration }
  | { kind: 'legacy_pit', clientId: string, locationId: string, accessToken: string }

export interface LegacyPit { token: string, locationId: string }

export class Credentials {
  constructor (
    private readonly tokens: TokenService,
    private readonly legacyPit: LegacyPit | null,
    private readonly logger: Logger,
  ) {}

  async forClient (clientId: string): Promise<Credential> {
    try {
      return oauth(await this.tokens.getFresh(clientId))
    } catch (err) {
      if (!this.legacyPit || !isAppError(err) || err.code !== 'not_connected') throw err
      this.logger.warn({ clientId, locationId: this.legacyPit.locationId, deprecation: 'legacy_pit' },
        'sending with the legacy Private Integration Token: this client has not connected GoHighLevel by OAuth yet; the fallback goes away when GHL_LEGACY_PIT_FALLBACK is turned off')
      return { kind: 'legacy_pit', clientId, locationId: this.legacyPit.locationId, accessToken: this.legacyPit.token }
    }
  }

  /** HighLevel said the access token expired: refresh once through the locked path. */
  async refreshed (credential: Credential): Promise<Credential | null> {
    if (credential.kind !== 'oauth') return null
    return oauth(await this.tokens.refreshNow(credential.clientId, credential.integration))
  }
}

function oauth (integration: Integration): Credential {
  return { kind: 'oauth', clientId: integration.clientId, locationId: integration.locationId, accessToken: integration.accessToken ?? '', integration }
}
