/**
 * INSTALL and UNINSTALL. An INSTALL needs nothing here (the connection is made by the OAuth
 * callback); an UNINSTALL deactivates the location's integrations, or every integration of the
 * company when it names only a company (an agency-level uninstall), except connections made
 * after the UNINSTALL's timestamp.
 */
import { crmEventOf, type IntegrationsRepository, type UninstalledIntegration } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEvents } from '@ghl-connect/runtime'
import type { VerifiedWebhook, WebhookHandler, WebhookOutcome } from './webhook-handler.ts'

export class AppInstallHandler implements WebhookHandler {
  async handle (): Promise<WebhookOutcome> {
    return 'recorded'
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
