/**
 * What a family of HighLevel webhooks implements to be dispatched by `type` (see handlers.ts).
 * The service has already verified the signature, the app, the 5-minute window and that the
 * webhookId is new; a handler only acts. Throwing anything but an AppError answers 429
 * `retry_later`, the one answer HighLevel delivers again.
 */

/** A webhook as HighLevel sends it: a type, the delivery's timestamp and webhookId, and the event's own fields. */
export interface AppWebhook {
  type: string
  appId?: string
  locationId?: string
  companyId?: string
  timestamp?: string | number
  webhookId?: string
  [field: string]: unknown
}

/** A webhook that passed every check: `at` is its timestamp. */
export type VerifiedWebhook = AppWebhook & { webhookId: string, at: Date }

/**
 * `processed`: it changed something; `recorded`: nothing to do beyond the receipt; `ignored`: not
 * for us (a location we do not hold), answered 200 and not recorded.
 */
export type WebhookOutcome = 'processed' | 'recorded' | 'ignored'

export interface WebhookHandler {
  /**
   * HighLevel's message webhooks carry no `appId` in its examples: such a family accepts a
   * verified event without one (one naming another app is still refused).
   */
  readonly appIdOptional?: boolean
  handle (event: VerifiedWebhook): Promise<WebhookOutcome>
}

/**
 * One webhook type whose messages go to a handler per `messageType` (HighLevel's InboundMessage
 * carries SMS, Email, calls, chats... under one type); any other message type goes to `otherwise`.
 */
export function byMessageType (handlers: Record<string, WebhookHandler>, otherwise: WebhookHandler): WebhookHandler {
  return {
    appIdOptional: otherwise.appIdOptional,
    handle: (event) => {
      const type = event.messageType
      const handler = typeof type === 'string' && Object.hasOwn(handlers, type) ? handlers[type] : undefined
      return (handler ?? otherwise).handle(event)
    },
  }
}
