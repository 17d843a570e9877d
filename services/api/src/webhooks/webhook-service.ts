/**
 * HighLevel's app webhooks: verified over the raw bytes, inside a 5-minute window, once per
 * webhookId, for this app only, then handed to the handler of their `type` (handlers.ts).
 *
 * HighLevel delivers a webhook again only when it is answered 429: so once an event is verified,
 * failing to record or act on it (PostgreSQL, Redis or HighLevel unreachable) answers 429
 * `retry_later`, never 5xx, which would drop it for good. An unverified or malformed webhook
 * keeps its 4xx.
 */
import type { KeyObject } from 'node:crypto'
import type { WebhookReceiptsRepository } from '@ghl-connect/db'
import { badRequest, conflict, forbidden, isAppError, tooManyRequests, unauthorized } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { AppWebhook, VerifiedWebhook, WebhookHandler, WebhookOutcome } from './webhook-handler.ts'
import { verifyWebhookSignature } from './webhook-signature.ts'

export const WEBHOOK_WINDOW_MS = 5 * 60_000
/** A hint only: HighLevel retries on its own schedule (about every 10 minutes). */
export const WEBHOOK_RETRY_AFTER_SECONDS = 60

export class WebhookService {
  constructor (
    private readonly publicKey: KeyObject,
    private readonly appId: string,
    private readonly receipts: WebhookReceiptsRepository,
    private readonly handlers: Record<string, WebhookHandler>,
    private readonly logger: Logger,
  ) {}

  async handle (rawBody: Buffer, signature: string | undefined, now = Date.now()): Promise<WebhookOutcome> {
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
    const handler = Object.hasOwn(this.handlers, event.type) ? this.handlers[event.type] : undefined
    if (event.appId !== this.appId && !(event.appId === undefined && handler?.appIdOptional)) {
      this.logger.warn({ appId: event.appId, type: event.type }, 'webhook for another app ignored')
      throw forbidden('foreign_app', `This endpoint serves app ${this.appId}; the webhook names another app, or none.`)
    }
    const at = typeof event.timestamp === 'number' ? event.timestamp : Date.parse(event.timestamp ?? '')
    if (!Number.isFinite(at) || Math.abs(now - at) > WEBHOOK_WINDOW_MS) {
      throw badRequest('stale_webhook', 'The webhook timestamp is missing or more than 5 minutes from now; replays are refused.')
    }
    try {
      return await this.process({ ...event, webhookId: event.webhookId, at: new Date(at) }, handler)
    } catch (err) {
      if (isAppError(err)) throw err
      this.logger.error({ err, type: event.type, webhookId: event.webhookId }, 'verified webhook not processed; HighLevel is asked to deliver it again')
      throw tooManyRequests('retry_later', 'The webhook could not be recorded or acted on just now; deliver it again later.', WEBHOOK_RETRY_AFTER_SECONDS)
    }
  }

  private async process (event: VerifiedWebhook, handler: WebhookHandler | undefined): Promise<WebhookOutcome> {
    const { webhookId } = event
    const duplicate = () => conflict('duplicate_webhook', `Webhook ${webhookId} was already received.`)
    if (await this.receipts.seen(webhookId)) throw duplicate()

    // Act first, record after: if acting fails, HighLevel's retry is processed instead of refused
    // as a duplicate. Acting twice on a concurrent duplicate is harmless (every handler is idempotent).
    const outcome = handler ? await handler.handle(event) : 'recorded'
    if (outcome === 'ignored') return outcome
    if (!await this.receipts.recordOnce({ webhookId, type: event.type, locationId: event.locationId, companyId: event.companyId })) {
      throw duplicate()
    }
    this.logger.info({ type: event.type, locationId: event.locationId, companyId: event.companyId }, 'webhook recorded')
    return outcome
  }
}
