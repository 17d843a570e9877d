/**
 * INSTALL and UNINSTALL. An INSTALL of a location under an agency we hold mints its token; any
 * other needs nothing here (the connection is made by the OAuth callback). An UNINSTALL deactivates the location's integrations, or every integration of the
 * company when it names only a company (an agency-level uninstall), except connections made
 * after the UNINSTALL's timestamp.
 */
import { crmEventOf, type IntegrationsRepository, type UninstalledIntegration } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEvents } from '@ghl-connect/core'
import type { VerifiedWebhook, WebhookHandler, WebhookOutcome } from './webhook-handler.ts'

/** What an INSTALL under an agency needs (oauth/agency-installs.ts). */
export interface AgencyInstaller { installLocation: (locationId: string, companyId?: string) => Promise<unknown | null> }

export class AppInstallHandler implements WebhookHandler {
  constructor (private readonly agencyInstalls: AgencyInstaller | undefined, private readonly logger: Logger) {}

  /**
   * A location installed under an agency we hold (a new sub-account of a bulk install, or one
   * HighLevel installed because the agency installs to future locations, whose INSTALL may name
   * no company): mint its token and keep it claimable. Any other INSTALL is recorded only: a
   * location-level install brings its own code to the callback.
   */
  async handle (event: VerifiedWebhook): Promise<WebhookOutcome> {
    if (!event.locationId || !this.agencyInstalls) return 'recorded'
    const minted = await this.agencyInstalls.installLocation(event.locationId, event.companyId)
    if (minted) this.logger.info({ locationId: event.locationId, companyId: event.companyId }, 'location installed under an agency we hold; its token is minted')
    return minted !== null ? 'processed' : 'recorded'
  }
}

export class AppUninstallHandler implements WebhookHandler {
  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly events: CrmEvents,
    private readonly logger: Logger,
  ) {}

  /**
   * A location-level UNINSTALL names the location; an agency-level one only the company. The
   * event for the CRM (`connection.broken`, reason `uninstalled`) is recorded in the transaction
   * that deactivates the rows, so both happen or neither does (and HighLevel's retry does both
   * again); its delivery is queued after the commit, or by the events reconciler if Redis is down.
   */
  async handle (event: VerifiedWebhook): Promise<WebhookOutcome> {
    const scope = event.locationId ? { locationId: event.locationId } : event.companyId ? { companyId: event.companyId } : null
    if (!scope) {
      this.logger.warn({ type: event.type }, 'UNINSTALL names neither a location nor a company; recorded only')
      return 'recorded'
    }
    // An unclaimed install (no client) has nobody to tell.
    const told = (removed: UninstalledIntegration[]) => removed.filter((r) => r.clientId)
      .map((r) => crmEventOf.connectionBroken({ integrationId: r.id, clientId: r.clientId, locationId: r.locationId }, 'uninstalled'))
    const removed = await this.integrations.deactivateUninstalled(scope, event.at, async (rows, tx) => {
      for (const e of told(rows)) await this.events.record(e, tx)
    })
    await this.events.dispatch(...told(removed).map((e) => e.id))
    this.logger.info({ ...scope, integrations: removed.length },
      removed.length > 0 ? 'app uninstalled' : 'UNINSTALL recorded; no active connection there is older than it')
    return removed.length > 0 ? 'processed' : 'recorded'
  }
}
