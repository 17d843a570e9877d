/**
 * HighLevel's message webhooks (InboundMessage, OutboundMessage), as its pages for the two events
 * show them (`/work/shared/ghl-docs/webhook-events/`), POSTed to the app's webhook URL and signed
 * like every sandbox webhook. A contact replies when a test says so (`contactReplies`); after a
 * send, a delivery report follows by itself once `deliveryReports` is configured: `delivered`, or
 * `failed` for a share of sends (`failureRatio`, decided by count, not by chance: 0.1 fails exactly
 * the 10th, 20th, ... send), after `delayMs`. `reportDelivery` reports one message now.
 * `dropRatio` loses a share of every message webhook on purpose (by count, like `failureRatio`):
 * never sent, never retried, as HighLevel's are when a delivery fails other than by a 429.
 */
import { randomUUID } from 'node:crypto'
import { escapeHtml } from '@ghl-connect/html'
import type { Clock } from './clock.ts'
import { ghlId } from './ids.ts'
import type { ReceivedMessage, SandboxState, SentMessage } from './state.ts'
import { deliverWebhook, type WebhookDelivery, type WebhookSigner } from './webhooks.ts'

export interface DeliveryReportSettings {
  /** Report deliveries after each send (needs a webhook URL). */
  auto: boolean
  delayMs: number
  /** 0..1: the share of sends reported `failed`, by count. */
  failureRatio: number
  /** 0..1: the share of message webhooks (InboundMessage and OutboundMessage) never sent, by count. */
  dropRatio: number
}

export type ReportedStatus = 'delivered' | 'failed' | 'undelivered' | 'sent' | 'read' | 'opened' | 'bounced'

/** HighLevel's provider error shape (ErrorDto): sent only when a report names one (see README). */
export interface DeliveryError { code: string, type: string, message: string }

export interface MessageWebhookLog { type: 'InboundMessage' | 'OutboundMessage', messageId: string, status?: string, delivery: WebhookDelivery | { error: string } }

/** What a webhook `dropRatio` dropped shows as its delivery. */
export const DROPPED = 'dropped on purpose (dropRatio): never sent, never retried'

/** The location's SMS provider, as the docs' examples name one. */
const SMS_PROVIDER_ID = 'sbxSmsProvider000001'
/** The location's email provider. */
export const EMAIL_PROVIDER_ID = 'sbxEmailProvider0001'

const stamp = (now: number) => ({ timestamp: new Date(now).toISOString(), webhookId: randomUUID() })

/** The fields both events share, for an SMS. */
function smsPayload (type: 'InboundMessage' | 'OutboundMessage', m: ReceivedMessage | SentMessage, now: number): Record<string, unknown> {
  return {
    type,
    locationId: m.locationId,
    attachments: [],
    body: m.body,
    contactId: m.contactId,
    contentType: 'text/plain',
    conversationId: m.conversationId,
    dateAdded: 'receivedAt' in m ? m.receivedAt : m.sentAt,
    messageType: 'SMS',
    messageId: m.messageId,
    conversationProviderId: SMS_PROVIDER_ID,
    ...stamp(now),
  }
}

export function inboundMessagePayload (m: ReceivedMessage, now: number): Record<string, unknown> {
  return { ...smsPayload('InboundMessage', m, now), direction: 'inbound', status: 'delivered' }
}

/**
 * A contact's email, as the InboundMessage page's Email example shows it: `emailMessageId`,
 * `threadId`, `from`, `to` (an array, as in the example; its schema says string), `subject`, the
 * HTML `body`, no `messageId`, `status` or `contentType` (see the README for what the page leaves open).
 */
export function inboundEmailPayload (m: ReceivedMessage & { email: NonNullable<ReceivedMessage['email']> }, now: number): Record<string, unknown> {
  return {
    type: 'InboundMessage',
    locationId: m.locationId,
    attachments: m.email.attachments,
    body: m.body,
    contactId: m.contactId,
    conversationId: m.conversationId,
    dateAdded: m.receivedAt,
    direction: 'inbound',
    messageType: 'Email',
    emailMessageId: m.email.emailMessageId,
    from: m.email.from,
    threadId: m.email.threadId,
    subject: m.email.subject,
    to: m.email.to,
    conversationProviderId: EMAIL_PROVIDER_ID,
    ...stamp(now),
  }
}

/** A contact's email: `html` is sent as it is; a plain `text` is sent as HTML, in a div as in HighLevel's example. */
export interface ContactEmail { subject: string, text?: string, html?: string, attachments?: string[], threadId?: string }

export function outboundMessagePayload (m: SentMessage, status: ReportedStatus, now: number, error?: DeliveryError): Record<string, unknown> {
  if (m.email) return outboundEmailPayload(m, m.email, status, now, error)
  return {
    ...smsPayload('OutboundMessage', m, now),
    // The page's SMS example says "inbound" here, its call example "outbound": an outbound message is outbound.
    direction: 'outbound',
    source: 'api',
    status,
    ...(error ? { error } : {}),
  }
}

/**
 * The page's email example (its Email Message Schema), with `status`: the example has none, the
 * SMS one does; HighLevel's email statuses are taken to come the same way (README).
 */
function outboundEmailPayload (m: SentMessage, email: NonNullable<SentMessage['email']>, status: ReportedStatus, now: number, error?: DeliveryError): Record<string, unknown> {
  return {
    type: 'OutboundMessage',
    locationId: m.locationId,
    attachments: email.attachments,
    body: m.body,
    contactId: m.contactId,
    conversationId: m.conversationId,
    dateAdded: m.sentAt,
    direction: 'outbound',
    messageType: 'Email',
    messageId: m.messageId,
    emailMessageId: email.emailMessageId,
    threadId: email.threadId,
    ...(email.from ? { from: email.from } : {}),
    subject: email.subject,
    to: [email.to],
    ...(email.cc.length > 0 ? { cc: email.cc } : {}),
    ...(email.bcc.length > 0 ? { bcc: email.bcc } : {}),
    source: 'api',
    conversationProviderId: EMAIL_PROVIDER_ID,
    status,
    ...(error ? { error } : {}),
    ...stamp(now),
  }
}

/** Where message webhooks go and the delivery reports after each send, as the sandbox starts (and returns to on reset). */
export interface MessageWebhookDefaults extends Partial<DeliveryReportSettings> { webhookUrl?: string | null }

export class MessageWebhooks {
  settings: DeliveryReportSettings
  /** The app's webhook URL (HighLevel's app settings): where message webhooks go. */
  webhookUrl: string | null
  readonly log: MessageWebhookLog[] = []
  private sends = 0
  /** Message webhooks due so far: which ones `dropRatio` drops is decided by this count. */
  private due = 0
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (private readonly sandbox: { state: SandboxState, clock: Clock, signer: WebhookSigner }, private readonly defaults: MessageWebhookDefaults = {}) {
    this.settings = MessageWebhooks.settingsOf(defaults)
    this.webhookUrl = defaults.webhookUrl ?? null
  }

  private static settingsOf (d: MessageWebhookDefaults): DeliveryReportSettings {
    return { auto: d.auto ?? false, delayMs: d.delayMs ?? 0, failureRatio: d.failureRatio ?? 0, dropRatio: d.dropRatio ?? 0 }
  }

  /** Called for every send HighLevel accepted. */
  afterSend (message: SentMessage): void {
    if (!this.settings.auto || !this.webhookUrl) return
    const n = this.sends++
    const ratio = this.settings.failureRatio
    const fails = Math.floor((n + 1) * ratio) > Math.floor(n * ratio)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.reportDelivery(message.messageId, fails ? 'failed' : 'delivered').catch(() => {})
    }, this.settings.delayMs)
    this.timers.add(timer)
  }

  /** Reports one sent message's delivery now (the status is kept for the conversation's messages). */
  async reportDelivery (messageId: string, status: ReportedStatus, opts: { error?: DeliveryError, url?: string } = {}): Promise<WebhookDelivery | { error: string }> {
    const message = this.sandbox.state.sentMessages.find((m) => m.messageId === messageId)
    if (!message) throw new Error(`No sent message "${messageId}"`)
    message.status = status
    message.statusAt = new Date(this.sandbox.clock.now()).toISOString()
    return this.post('OutboundMessage', messageId, outboundMessagePayload(message, status, this.sandbox.clock.now(), opts.error), opts.url, status)
  }

  /** A contact replies: the message joins its conversation and InboundMessage goes out. */
  async contactReplies (contactId: string, body: string, opts: { url?: string } = {}): Promise<{ message: ReceivedMessage, delivery: WebhookDelivery | { error: string } }> {
    const contact = this.sandbox.state.contacts.get(contactId)
    if (!contact) throw new Error(`No sandbox contact "${contactId}"`)
    const message = this.sandbox.state.recordReceived({ locationId: contact.locationId, contactId, body })
    return { message, delivery: await this.post('InboundMessage', message.messageId, inboundMessagePayload(message, this.sandbox.clock.now()), opts.url) }
  }

  /**
   * A contact emails the location (from the contact's address to the location's): the email joins
   * the contact's conversation and InboundMessage (messageType Email) goes out. A new email starts
   * its own thread; `threadId` continues one.
   */
  async contactEmails (contactId: string, email: ContactEmail, opts: { url?: string } = {}): Promise<{ message: ReceivedMessage, delivery: WebhookDelivery | { error: string } }> {
    const contact = this.sandbox.state.contacts.get(contactId)
    if (!contact) throw new Error(`No sandbox contact "${contactId}"`)
    if (!contact.email) throw new Error(`Sandbox contact "${contactId}" has no email address`)
    const location = this.sandbox.state.locations.get(contact.locationId)
    const emailMessageId = ghlId()
    const message = this.sandbox.state.recordReceived({
      locationId: contact.locationId,
      contactId,
      body: email.html ?? `<div>${escapeHtml(email.text ?? '')}</div>`,
      email: {
        emailMessageId,
        threadId: email.threadId ?? emailMessageId,
        from: contact.name ? `${contact.name} <${contact.email}>` : contact.email,
        to: location ? [location.email] : [],
        subject: email.subject,
        attachments: email.attachments ?? [],
      },
    })
    const payload = inboundEmailPayload({ ...message, email: message.email! }, this.sandbox.clock.now())
    return { message, delivery: await this.post('InboundMessage', emailMessageId, payload, opts.url) }
  }

  /** The same event delivered again, as a new delivery (new webhookId and timestamp). */
  async redeliver (payload: Record<string, unknown>, url?: string): Promise<WebhookDelivery | { error: string }> {
    const type = payload.type === 'InboundMessage' ? 'InboundMessage' : 'OutboundMessage'
    return this.post(type, String(payload.messageId ?? payload.emailMessageId), { ...payload, ...stamp(this.sandbox.clock.now()) }, url, typeof payload.status === 'string' ? payload.status : undefined)
  }

  reset (): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.settings = MessageWebhooks.settingsOf(this.defaults)
    this.webhookUrl = this.defaults.webhookUrl ?? null
    this.sends = 0
    this.due = 0
    this.log.length = 0
  }

  private async post (type: MessageWebhookLog['type'], messageId: string, payload: Record<string, unknown>, url: string | undefined, status?: string) {
    const target = url ?? this.webhookUrl
    if (!target) throw new Error('No webhook URL: set it with PUT /_sandbox/message-webhooks {webhookUrl} or pass url')
    const n = this.due++
    const ratio = this.settings.dropRatio
    if (Math.floor((n + 1) * ratio) > Math.floor(n * ratio)) {
      this.sandbox.state.stats.messageWebhooksDropped++
      const dropped = { error: DROPPED }
      this.log.push({ type, messageId, status, delivery: dropped })
      return dropped
    }
    let delivery: WebhookDelivery | { error: string }
    try {
      delivery = await deliverWebhook(this.sandbox.signer, { url: target }, payload)
    } catch (err) {
      delivery = { error: (err as Error).message }
    }
    this.log.push({ type, messageId, status, delivery })
    return delivery
  }
}
