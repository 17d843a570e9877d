/**
 * HighLevel's app webhooks: verified over the raw bytes, inside a 5-minute window, once per
 * webhookId, for this app only. UNINSTALL deactivates the location's integration.
 */
import type { KeyObject } from 'node:crypto'
import type { IntegrationsRepository, WebhookReceiptsRepository } from '@ghl-connect/db'
import { badRequest, conflict, forbidden, unauthorized } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { ConnectionEvent } from '@ghl-connect/tokens'
import { verifyWebhookSignature } from './webhook-signature.ts'

export const WEBHOOK_WINDOW_MS = 5 * 60_000

interface AppWebhook {
  type: string
  appId?: string
  locationId?: string
  companyId?: string
  timestamp?: string | number
  webhookId?: string
}

export class WebhookService {
  constructor (
    private readonly publicKey: KeyObject,
    private readonly appId: string,
    private readonly receipts: WebhookReceiptsRepository,
    private readonly integrations: IntegrationsRepository,
    private readonly logger: Logger,
    private readonly onEvent: (event: ConnectionEvent) => Promise<void>,
  ) {}

  async handle (rawBody: Buffer, signature: string | undefined, now = Date.now()): Promise<'processed' | 'recorded'> {
    if (!signature) throw unauthorized('missing_signature', 'X-GHL-Signature is missing; HighLevel signs every webhook.')
    if (!verifyWebhookSignature(this.publicKey, rawBody, signature)) {
      throw unauthorized('invalid_signature', 'X-GHL-Signature does not verify over the body with GHL_WEBHOOK_PUBLIC_KEY.')
    }
    let event: AppWebhook
    try {
      event = JSON.parse(rawBody.toString('utf8')) as AppWebhook
    } catch {
      throw badRequest('invalid_json', 'The webhook body is not valid JSON.')
    }
    if (!event || typeof event !== 'object' || typeof event.type !== 'string' || typeof event.webhookId !== 'string' || !event.webhookId) {
      throw badRequest('invalid_webhook', 'The webhook needs a type and a webhookId.')
    }
    if (event.appId !== this.appId) {
      this.logger.warn({ appId: event.appId, type: event.type }, 'webhook for another app ignored')
      throw forbidden('foreign_app', `This endpoint serves app ${this.appId}; the webhook names another app.`)
    }
    const at = typeof event.timestamp === 'number' ? event.timestamp : Date.parse(event.timestamp ?? '')
    if (!Number.isFinite(at) || Math.abs(now - at) > WEBHOOK_WINDOW_MS) {
      throw badRequest('stale_webhook', 'The webhook timestamp is missing or more than 5 minutes from now; replays are refused.')
    }
    const duplicate = () => conflict('duplicate_webhook', `Webhook ${event.webhookId} was already received.`)
    if (await this.receipts.seen(event.webhookId)) throw duplicate()

    // Act first, record after: if acting fails, HighLevel's retry is processed instead of refused
    // as a duplicate. Acting twice on a concurrent duplicate is harmless (deactivation is idempotent).
    const uninstalled = event.type === 'UNINSTALL' && event.locationId ? await this.uninstall(event.locationId) : false
    if (!await this.receipts.recordOnce({ webhookId: event.webhookId, type: event.type, locationId: event.locationId, companyId: event.companyId })) {
      throw duplicate()
    }
    this.logger.info({ type: event.type, locationId: event.locationId }, 'webhook recorded')
    return uninstalled ? 'processed' : 'recorded'
  }

  private async uninstall (locationId: string): Promise<true> {
    const removed = await this.integrations.deactivateLocation(locationId, 'revoked')
    this.logger.info({ locationId, integrations: removed.length }, 'app uninstalled from location')
    for (const r of removed) {
      if (r.clientId) await this.onEvent({ type: 'connection.broken', clientId: r.clientId, locationId, reason: 'uninstalled' })
    }
    return true
  }
}
