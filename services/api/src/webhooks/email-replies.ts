/**
 * HighLevel's InboundMessage webhook, for email: a contact's email to the location becomes
 * `email.received` for the CRM, recorded in the events outbox under HighLevel's email message id
 * (a webhook delivered twice is one event). Which locations are taken at all: the same rule as SMS
 * (sms-message-webhook.ts, `heldIntegration`). The fields are those of HighLevel's "Email Message
 * Schema" and example (webhook-events/InboundMessage.md): `emailMessageId`, `threadId`, `from`,
 * `to` (a string in the schema, an array in the example: both are taken), `subject`, `body` (HTML
 * in the example), `attachments`.
 *
 * Never log the addresses, the subject or the body.
 */
import { crmEventOf, type IntegrationsRepository } from '@ghl-connect/db'
import { badRequest } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { CrmEvents } from '@ghl-connect/core'
import { heldIntegration } from './sms-message-webhook.ts'
import type { VerifiedWebhook, WebhookHandler, WebhookOutcome } from './webhook-handler.ts'

const invalid = (sentence: string) => badRequest('invalid_webhook', sentence)

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** The email fields of an InboundMessage, checked: a wrong type is a 400, never a guess. */
export function emailFields (event: VerifiedWebhook) {
  for (const field of ['contactId', 'conversationId', 'messageId', 'emailMessageId', 'threadId', 'from', 'subject', 'body', 'contentType', 'dateAdded'] as const) {
    if (event[field] !== undefined && event[field] !== null && typeof event[field] !== 'string') {
      throw invalid(`The webhook's ${field} must be a string when present.`)
    }
  }
  const contactId = str(event.contactId)
  if (!contactId) throw invalid('An InboundMessage of type Email needs a contactId.')
  const body = typeof event.body === 'string' ? event.body : ''
  const contentType = str(event.contentType)?.toLowerCase()
  // HighLevel's email example sends HTML in `body` and no contentType: HTML unless said otherwise.
  const isHtml = contentType ? contentType.includes('html') : body.trimStart().startsWith('<')
  return {
    contactId,
    conversationId: str(event.conversationId) ?? null,
    messageId: str(event.messageId) ?? null,
    emailMessageId: str(event.emailMessageId) ?? null,
    threadId: str(event.threadId) ?? null,
    from: str(event.from) ?? null,
    to: addressesOf(event.to),
    subject: typeof event.subject === 'string' ? event.subject : null,
    text: isHtml ? htmlToText(body) : body,
    html: isHtml ? body : null,
    attachments: attachmentUrlsOf(event.attachments),
    dateAdded: str(event.dateAdded),
  }
}

function addressesOf (value: unknown): string[] {
  if (value === undefined || value === null || value === '') return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.filter((v) => v !== '')
  throw invalid('The webhook\'s to must be an email address or a list of them.')
}

/** Attachments are URLs (HighLevel's message schema: "An array of attachment URLs"); an object with a `url` is taken too. */
function attachmentUrlsOf (value: unknown): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw invalid('The webhook\'s attachments must be a list of URLs.')
  return value.map((item) => {
    const url = typeof item === 'string' ? item : (item && typeof item === 'object' ? (item as { url?: unknown }).url : undefined)
    if (typeof url !== 'string' || url === '') throw invalid('Each of the webhook\'s attachments must be a URL.')
    return url
  })
}

export class EmailReplyHandler implements WebhookHandler {
  readonly appIdOptional = true

  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly events: CrmEvents,
    private readonly logger: Logger,
  ) {}

  async handle (event: VerifiedWebhook): Promise<WebhookOutcome> {
    const integration = await heldIntegration(this.integrations, event)
    if (!integration) return 'ignored'
    const email = emailFields(event)
    const receivedAt = email.dateAdded && Number.isFinite(Date.parse(email.dateAdded)) ? new Date(email.dateAdded) : event.at
    const received = crmEventOf.emailReceived({
      ...email,
      clientId: integration.clientId,
      locationId: integration.locationId,
      // HighLevel's email example carries emailMessageId and no messageId; without either, the delivery's id stands in.
      emailMessageId: email.emailMessageId ?? email.messageId ?? `webhook-${event.webhookId}`,
      receivedAt,
    })
    await this.events.publish(received)
    this.logger.info({ clientId: integration.clientId, locationId: integration.locationId, ghlMessageId: email.messageId, emailMessageId: email.emailMessageId, eventId: received.id }, 'email reply received')
    return 'processed'
  }
}

const BLOCK_TAGS = new Set(['p', 'div', 'br', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'table'])
const SKIPPED_TAGS = new Set(['style', 'script', 'head', 'title'])
const TAG_NAME = /^\/?([a-z][a-z0-9]*)/
const ENTITY = /&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,6});/gi
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: '\'', nbsp: ' ' }

/**
 * The text of an email's HTML, for a CRM that shows or searches text: tags dropped (a block ends
 * a line), style and script left out, the common entities decoded. Scans once with indexOf, so
 * any body (a caller's) takes linear time.
 */
export function htmlToText (html: string): string {
  const lower = html.toLowerCase()
  let text = ''
  let at = 0
  while (at < html.length) {
    const open = html.indexOf('<', at)
    const close = open < 0 ? -1 : html.indexOf('>', open)
    if (close < 0) { text += html.slice(at); break }
    text += html.slice(at, open)
    at = close + 1
    const name = TAG_NAME.exec(lower.slice(open + 1, Math.min(close, open + 20)))?.[1]
    if (!name) continue
    // A line break always ends a line; a block's edge ends one unless it just ended.
    if (name === 'br' || (BLOCK_TAGS.has(name) && !text.endsWith('\n'))) text += '\n'
    if (SKIPPED_TAGS.has(name) && lower[open + 1] !== '/') {
      const end = lower.indexOf(`</${name}`, at)
      at = end < 0 ? html.length : end
    }
  }
  return text
    .replace(ENTITY, (whole, name: string) => {
      const n = name.toLowerCase()
      if (n.startsWith('#x')) return codePoint(Number.parseInt(n.slice(2), 16)) ?? whole
      if (n.startsWith('#')) return codePoint(Number(n.slice(1))) ?? whole
      return NAMED[n] ?? whole
    })
    .split('\n')
    .map((line) => line.replace(/[ \t\r\f\v\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

const codePoint = (n: number): string | undefined => (Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined)
