/**
 * Which token a client's HighLevel calls use: its own OAuth token through the one refresh path,
 * or, during the seed's migration phases (GHL_LEGACY_PIT_FALLBACK on), the legacy Private
 * Integration Token for a client that never connected (one whose connection ended must reconnect). Which of the two is the domain's
 * rule (`sendingAccess` in @ghl-connect/db); this only carries it out and warns.
 */
import type { Integration } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { TokenService } from './token-service.ts'

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
    const access = await this.tokens.forSending(clientId, { legacyPitFallback: this.legacyPit !== null })
    if (access.kind === 'oauth') return oauthCredential(access.integration)
    // The rule answers legacy_pit only when the fallback is on, that is when a legacy PIT is configured.
    const pit = this.legacyPit!
    this.logger.warn({ clientId, locationId: pit.locationId, deprecation: 'legacy_pit' },
      'sending with the legacy Private Integration Token: this client has never connected GoHighLevel by OAuth; the fallback goes away when GHL_LEGACY_PIT_FALLBACK is turned off')
    return { kind: 'legacy_pit', clientId, locationId: pit.locationId, accessToken: pit.token }
  }
}

export function oauthCredential (integration: Integration): Credential {
  return { kind: 'oauth', clientId: integration.clientId, locationId: integration.locationId, accessToken: integration.accessToken ?? '', integration }
}
