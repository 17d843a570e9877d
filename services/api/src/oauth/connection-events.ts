/**
 * What the connect flow tells the CRM: a client's connection moved to another location
 * (`connection.replaced`), or an install from the marketplace waits to be claimed
 * (`install.pending`, never with its claim code). Each is recorded in the events outbox right
 * after the connection is stored (id: the new integration's), so it is delivered at least once.
 * The connection stands whether or not the event could be recorded, so a failure to record is
 * logged, not shown to the person who connected.
 */
import { crmEventOf, type Integration, type NewCrmEvent, type Replacement } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEvents } from '@ghl-connect/core'

export class ConnectionEvents {
  constructor (private readonly events: CrmEvents, private readonly logger: Logger) {}

  /** Only a change of location is news: reconnecting the same location, or a first connection, is not. */
  async replaced (clientId: string, { integration, previousLocationId }: Replacement): Promise<void> {
    if (previousLocationId === null || previousLocationId === integration.locationId) return
    this.logger.info({ clientId, previousLocationId, locationId: integration.locationId }, 'connection replaced by another location')
    await this.send(crmEventOf.connectionReplaced({ integrationId: integration.id, clientId, locationId: integration.locationId }, previousLocationId))
  }

  async installPending (integration: Integration): Promise<void> {
    await this.send(crmEventOf.installPending({
      integrationId: integration.id, locationId: integration.locationId, locationName: integration.locationName ?? integration.locationId,
    }))
  }

  private async send (event: NewCrmEvent): Promise<void> {
    try {
      await this.events.publish(event)
    } catch (err) {
      this.logger.warn({ err, type: event.type }, 'could not record an event for the CRM')
    }
  }
}
