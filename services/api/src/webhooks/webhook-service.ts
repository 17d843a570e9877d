/**
 * HighLevel's app webhooks: verified over the raw bytes, inside a 5-minute window, once per
 * webhookId, for this app only. UNINSTALL deactivates the location's integrations, or every
 * integration of the company when it names only a company (an agency-level uninstall), except
 * connections made after the UNINSTALL's timestamp.
 *
 * HighLevel delivers a webhook again only when it is answered 429: so once an event is verified,
 * failing to record or act on it (PostgreSQL or Redis unreachable) answers 429 `retry_later`,
 * never 5xx, which would drop it for good. An unverified or malformed webhook keeps its 4xx.
 */
import type { KeyObject } from 'node:crypto'
import { crmEventOf, type IntegrationsRepository, type UninstalledIntegration, type WebhookReceiptsRepository } from '@ghl-connect/db'
import { badRequest, conflict, forbidden, isAppError, tooManyRequests, unauthorized } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEvents } from '@ghl-connect/runtime'
import { verifyWebhookSignature } from './webhook-signature.ts'
import { acceptedWithoutAppId, CONTACT_DND_UPDATE, type ContactDndWebhooks } from './contact-dnd.ts'

export const WEBHOOK_WINDOW_MS = 5 * 60_000
/** A hint only: HighLevel retries on its own schedule (about every 10 minutes). */
export const WEBHOOK_RETRY_AFTER_SECONDS = 60

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
    private readonly events: CrmEvents,
    /** Mints the token of a location installed under an agency we hold (INSTALL). */
    private readonly agencyInstalls?: { installLocation: (locationId: string, companyId?: string) => Promise<unknown | null> },
    private readonly contactDnd?: ContactDndWebhooks,
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
    if ([event.locationId, event.companyId].some((id) => id !== undefined && typeof id !== 'string')) {
      throw badRequest('invalid_webhook', 'The webhook\'s locationId and companyId must be strings when present.')
    }
    if (event.appId !== this.appId && !acceptedWithoutAppId(event)) {
      this.logger.warn({ appId: event.appId, type: event.type }, 'webhook for another app ignored')
      throw forbidden('foreign_app', `This endpoint serves app ${this.appId}; the webhook names another app.`)
    }
    const at = typeof event.timestamp === 'number' ? event.timestamp : Date.parse(event.timestamp ?? '')
    if (!Number.isFinite(at) || Math.abs(now - at) > WEBHOOK_WINDOW_MS) {
      throw badRequest('stale_webhook', 'The webhook timestamp is missing or more than 5 minutes from now; replays are refused.')
    }
    try {
      return await this.process(event, event.webhookId, new Date(at))
    } catch (err) {
      if (isAppError(err)) throw err
      this.logger.error({ err, type: event.type, webhookId: event.webhookId }, 'verified webhook not processed; HighLevel is asked to deliver it again')
      throw tooManyRequests('retry_later', 'The webhook could not be recorded or acted on just now; deliver it again later.', WEBHOOK_RETRY_AFTER_SECONDS)
    }
  }

  private async process (event: AppWebhook, webhookId: string, at: Date): Promise<'processed' | 'recorded'> {
    const duplicate = () => conflict('duplicate_webhook', `Webhook ${webhookId} was already received.`)
    if (await this.receipts.seen(webhookId)) throw duplicate()

    // Act first, record after: if acting fails, HighLevel's retry is processed instead of refused
    // as a duplicate. Acting twice on a concurrent duplicate is harmless (deactivation is idempotent).
    const uninstalled = event.type === 'UNINSTALL' ? await this.uninstall(event, at) : event.type === 'INSTALL' ? await this.install(event) : false
    if (event.type === CONTACT_DND_UPDATE) await this.contactDnd?.handle(event, at)
    if (!await this.receipts.recordOnce({ webhookId, type: event.type, locationId: event.locationId, companyId: event.companyId })) {
      throw duplicate()
    }
    this.logger.info({ type: event.type, locationId: event.locationId, companyId: event.companyId }, 'webhook recorded')
    return uninstalled ? 'processed' : 'recorded'
  }

  /**
   * A location installed under an agency we hold (a new sub-account of a bulk install, or one
   * HighLevel installed because the agency installs to future locations, whose INSTALL may name
   * no company): mint its token and keep it claimable. Any other INSTALL is recorded only: a
   * location-level install brings its own code to the callback.
   */
  private async install (event: AppWebhook): Promise<boolean> {
    if (!event.locationId || !this.agencyInstalls) return false
    const minted = await this.agencyInstalls.installLocation(event.locationId, event.companyId)
    if (minted) this.logger.info({ locationId: event.locationId, companyId: event.companyId }, 'location installed under an agency we hold; its token is minted')
    return minted !== null
  }

  /**
   * A location-level UNINSTALL names the location; an agency-level one only the company. The
   * event for the CRM (`connection.broken`, reason `uninstalled`) is recorded in the transaction
   * that deactivates the rows, so both happen or neither does (and HighLevel's retry does both
   * again); its delivery is queued after the commit, or by the events reconciler if Redis is down.
   */
  private async uninstall (event: AppWebhook, at: Date): Promise<boolean> {
    const scope = event.locationId ? { locationId: event.locationId } : event.companyId ? { companyId: event.companyId } : null
    if (!scope) {
      this.logger.warn({ type: event.type }, 'UNINSTALL names neither a location nor a company; recorded only')
      return false
    }
    // An unclaimed install (no client) has nobody to tell.
    const told = (removed: UninstalledIntegration[]) => removed.filter((r) => r.clientId)
      .map((r) => crmEventOf.connectionBroken({ integrationId: r.id, clientId: r.clientId, locationId: r.locationId }, 'uninstalled'))
    const removed = await this.integrations.deactivateUninstalled(scope, at, async (rows, tx) => {
      for (const event of told(rows)) await this.events.record(event, tx)
    })
    await this.events.dispatch(...told(removed).map((e) => e.id))
    this.logger.info({ ...scope, integrations: removed.length },
      removed.length > 0 ? 'app uninstalled' : 'UNINSTALL recorded; no active connection there is older than it')
    return removed.length > 0
  }
}
