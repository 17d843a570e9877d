/** A `refresh` job: refresh one client's token ahead of its expiry, through the one locked path. */
import type { Integration, IntegrationsRepository } from '@ghl-connect/db'
import { isAppError } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { TokenService } from '@ghl-connect/tokens'

/** Refreshes of one batch in flight at once. */
const BATCH_LANES = 4

export type RefreshJobOutcome = 'refreshed' | 'already_fresh' | 'not_connected' | 'needs_reauth' | 'deferred'

export class TokenRefresher {
  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly tokens: TokenService,
    private readonly logger: Logger,
    private readonly horizonMs: number,
    private readonly agencyRefreshMs: number,
    /** The new token, for the process's credential cache. */
    private readonly onRefreshed: (integration: Integration) => void = () => {},
  ) {}

  /**
   * A `refresh-agencies` job: renews each agency connection whose refresh token is still older
   * than AGENCY_REFRESH_DAYS (one renewed since the sweep read it is skipped), one at a time (few).
   */
  async refreshAgencies (integrationIds: string[]): Promise<Partial<Record<RefreshJobOutcome, number>>> {
    const outcomes: Partial<Record<RefreshJobOutcome, number>> = {}
    const errors: unknown[] = []
    for (const id of integrationIds) {
      try {
        const outcome = await this.refreshAgency(id)
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      } catch (err) {
        errors.push(err)
        this.logger.warn({ err, integrationId: id }, 'scheduled agency refresh failed; the next sweep tries again')
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} of ${integrationIds.length} agency refreshes failed`)
    return outcomes
  }

  private async refreshAgency (integrationId: string): Promise<RefreshJobOutcome> {
    const agency = await this.integrations.findActiveById(integrationId)
    if (!agency || agency.userType !== 'Company') return 'not_connected'
    if (agency.status === 'needs_reauth') return 'needs_reauth'
    if (Date.now() - (agency.lastRefreshedAt ?? agency.connectedAt).getTime() < this.agencyRefreshMs) return 'already_fresh'
    try {
      await this.tokens.refreshAgency(agency)
      return 'refreshed'
    } catch (err) {
      if (!isAppError(err)) throw err
      // TokenService has recorded it, backed off and, for a dead refresh token, told the CRM (agency.broken).
      this.logger.info({ integrationId, companyId: agency.companyId, code: err.code }, 'scheduled agency refresh did not go through')
      return err.code === 'needs_reauth' ? 'needs_reauth' : 'deferred'
    }
  }

  /**
   * A `refresh-batch` job: each client through `refresh`, a few at a time (each one a call to
   * HighLevel). One client's failure does not stop the others; if any threw (PostgreSQL or Redis
   * down), the job fails once all are done and the next sweep queues those clients again.
   */
  async refreshBatch (clientIds: string[]): Promise<Partial<Record<RefreshJobOutcome, number>>> {
    const outcomes: Partial<Record<RefreshJobOutcome, number>> = {}
    const errors: unknown[] = []
    let next = 0
    const lane = async () => {
      while (next < clientIds.length) {
        const clientId = clientIds[next++]!
        try {
          const outcome = await this.refresh(clientId)
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        } catch (err) {
          errors.push(err)
          this.logger.warn({ err, clientId }, 'scheduled refresh failed; the next sweep tries again')
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(BATCH_LANES, clientIds.length) }, lane))
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} of ${clientIds.length} scheduled refreshes failed`)
    return outcomes
  }

  async refresh (clientId: string): Promise<RefreshJobOutcome> {
    const integration = await this.integrations.findByClient(clientId)
    if (!integration) return 'not_connected'
    if (integration.status === 'needs_reauth') return 'needs_reauth'
    // Someone refreshed it since the sweep queued this job: spending the token again buys nothing.
    if (integration.expiresAt.getTime() - Date.now() > this.horizonMs) return 'already_fresh'
    try {
      this.onRefreshed(await this.tokens.refreshNow(clientId, integration))
      return 'refreshed'
    } catch (err) {
      if (!isAppError(err)) throw err
      // TokenService has recorded it, backed off and told the CRM; the next sweep tries again.
      this.logger.info({ clientId, code: err.code }, 'scheduled refresh did not go through')
      return err.code === 'needs_reauth' ? 'needs_reauth' : 'deferred'
    }
  }
}
