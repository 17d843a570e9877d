/** A `refresh` job: refresh one client's token ahead of its expiry, through the one locked path. */
import type { IntegrationsRepository } from '@ghl-connect/db'
import { isAppError } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { TokenService } from '@ghl-connect/tokens'

export type RefreshJobOutcome = 'refreshed' | 'already_fresh' | 'not_connected' | 'needs_reauth' | 'deferred'

export class TokenRefresher {
  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly tokens: TokenService,
    private readonly logger: Logger,
    private readonly horizonMs: number,
  ) {}

  async refresh (clientId: string): Promise<RefreshJobOutcome> {
    const integration = await this.integrations.findByClient(clientId)
    if (!integration) return 'not_connected'
    if (integration.status === 'needs_reauth') return 'needs_reauth'
    // Someone refreshed it since the sweep queued this job: spending the token again buys nothing.
    if (integration.expiresAt.getTime() - Date.now() > this.horizonMs) return 'already_fresh'
    try {
      await this.tokens.refreshNow(clientId, integration)
      return 'refreshed'
    } catch (err) {
      if (!isAppError(err)) throw err
      // TokenService has recorded it, backed off and told the CRM; the next sweep tries again.
      this.logger.info({ clientId, code: err.code }, 'scheduled refresh did not go through')
      return err.code === 'needs_reauth' ? 'needs_reauth' : 'deferred'
    }
  }
}
