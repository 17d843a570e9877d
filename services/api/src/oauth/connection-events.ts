/**
 * What the connect flow tells the CRM: a client's connection moved to another location
 * (`connection.replaced`), or an install from the marketplace waits to be claimed
 * (`install.pending`, never with its claim code). The connection stands whether or not the event
 * could be queued, so a failure to queue is logged, not shown to the person who connected.
 */
import type { Integration, Replacement } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEventPublisher } from '@ghl-connect/queues'

export class ConnectionEvents {
  constructor (private readonly publish: CrmEventPublisher, private readonly logger: Logger) {}

  /** Only a change of location is news: reconnecting the same location, or a first connection, is not. */
  async replaced (clientId: string, { integration, previousLocationId }: Replacement): Promise<void> {
    if (previousLocationId === null || previousLocationId === integration.locationId) return
    this.logger.info({ clientId, previousLocationId, locationId: integration.locationId }, 'connection replaced by another location')
    await this.send('connection.replaced', { clientId, previousLocationId, locationId: integration.locationId })
  }

  async installPending (integration: Integration): Promise<void> {
    await this.send('install.pending', { locationId: integration.locationId, locationName: integration.locationName ?? integration.locationId })
  }

  private async send (...[type, data]: Parameters<CrmEventPublisher>): Promise<void> {
    try {
      await this.publish(type, data)
    } catch (err) {
      this.logger.warn({ err, type }, 'could not queue an event for the CRM')
    }
  }
}
