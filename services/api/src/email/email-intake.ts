/**
 * Email intake: an email's own fields checked here, then the same path as an SMS (sms-intake.ts's
 * `acceptMessage`: the outbox row first, then the job; idempotency; scheduling without quiet
 * hours). Its batch is the SMS batch with the email kind (`emailBatchKind`).
 */
import type { NewEmailParts, OutboxMessage, Recipient, SmsMessagesRepository } from '@ghl-connect/db'
import { badRequest, notFound } from '@ghl-connect/errors'
import { Compile } from 'typebox/compile'
import { EMAIL_BODY_MAX_BYTES, EmailBatchItem, type EmailBody, type EmailView } from '../schemas/email.ts'
import type { BatchKind } from '../sms/sms-batch-intake.ts'
import type { OutboxRequest, SmsIntake } from '../sms/sms-intake.ts'
import { outboxView } from '../sms/outbox-view.ts'

/** One @, something before it, a dot after it, no spaces: enough to catch a wrong field, not a validator of RFC 5322. */
const looksLikeAddress = (value: string) => {
  const at = value.indexOf('@')
  return at > 0 && at === value.lastIndexOf('@') && value.indexOf('.', at) > at + 1 && !value.endsWith('.') && !/\s/.test(value)
}

export class EmailIntake {
  constructor (private readonly intake: SmsIntake, private readonly messages: SmsMessagesRepository) {}

  async accept (request: EmailBody, trace: { requestId?: string } = {}): Promise<{ id: string, status: OutboxMessage['status'], duplicate: boolean }> {
    return this.intake.acceptMessage({ clientId: request.clientId, idempotencyKey: request.idempotencyKey ?? null, ...emailMessage(request) }, request, trace)
  }

  async view (id: string): Promise<EmailView> {
    const m = await this.messages.findById(id)
    if (!m || m.channel !== 'email') throw notFound('email_not_found', `There is no email with id ${id}; use the id POST /api/email answered.`)
    return outboxView(m)
  }
}

export const emailBatchKind: BatchKind = {
  channel: 'email',
  schema: Compile(EmailBatchItem),
  read: (item: EmailBody) => emailMessage(item),
  route: 'POST /api/email',
}

/** What the schema cannot say about an email: one recipient, addresses, a body within its size, https attachments. */
export function emailMessage (request: EmailBody): Pick<OutboxRequest, 'to' | 'body' | 'email'> {
  const to = oneRecipient(request)
  if (request.subject.trim() === '') throw invalid('subject', 'subject must contain more than spaces.')
  if (request.html === undefined && request.text === undefined) throw invalid('html', 'html or text is required: the email\'s body, as HTML or as plain text.')
  for (const field of ['html', 'text'] as const) {
    const value = request[field]
    if (value !== undefined && Buffer.byteLength(value, 'utf8') > EMAIL_BODY_MAX_BYTES) {
      throw invalid(field, `${field} is larger than 256 KiB (262,144 bytes in UTF-8); shorten it, or link to the content instead.`)
    }
  }
  const body = request.html ?? request.text ?? ''
  if (body.trim() === '') throw invalid(request.html !== undefined ? 'html' : 'text', 'The email\'s body must contain more than spaces.')
  for (const field of ['cc', 'bcc'] as const) {
    const bad = (request[field] ?? []).findIndex((a) => !looksLikeAddress(a))
    if (bad >= 0) throw invalid(`${field}[${bad}]`, `${field}[${bad}] is not an email address (name@domain.tld).`)
  }
  if (request.fromEmail !== undefined && !looksLikeAddress(request.fromEmail)) throw invalid('fromEmail', 'fromEmail is not an email address (name@domain.tld).')
  if (request.fromName !== undefined && request.fromEmail === undefined) throw invalid('fromName', 'fromName goes with fromEmail: give the sender\'s address too.')
  const badUrl = (request.attachments ?? []).findIndex((u) => !isHttpsUrl(u))
  if (badUrl >= 0) throw invalid(`attachments[${badUrl}]`, `attachments[${badUrl}] must be an https URL HighLevel can fetch.`)
  if ((request.createContact || request.contactName !== undefined) && !('email' in to)) {
    throw invalid('createContact', 'createContact (and contactName) go with to.email: a contact is created for an address.')
  }
  const email: NewEmailParts = {
    subject: request.subject,
    bodyIsHtml: request.html !== undefined,
    options: withoutUndefined({
      text: request.html !== undefined ? request.text : undefined,
      fromEmail: request.fromEmail,
      fromName: request.fromName,
      cc: request.cc,
      bcc: request.bcc,
      attachments: request.attachments,
      replyToMessageId: request.replyToMessageId,
      createContact: request.createContact || undefined,
      contactName: request.contactName?.trim(),
    }),
  }
  return { to, body, email }
}

function oneRecipient ({ to }: EmailBody): Recipient {
  const given = (['contactId', 'email', 'name'] as const).filter((k) => to[k] !== undefined)
  if (given.length !== 1) {
    throw invalid('to', `to must have exactly one of contactId, email or name${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}.`)
  }
  if (to.contactId !== undefined) return { contactId: to.contactId }
  if (to.email !== undefined) {
    const email = to.email.trim()
    if (!looksLikeAddress(email)) throw invalid('to.email', 'to.email is not an email address (name@domain.tld).')
    return { email }
  }
  const name = (to.name ?? '').trim()
  if (!name) throw invalid('to.name', 'to.name must contain more than spaces.')
  return { name }
}

function isHttpsUrl (value: string): boolean {
  try {
    return new URL(value).protocol === 'https:'
  } catch {
    return false
  }
}

const withoutUndefined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

function invalid (field: string, message: string) {
  return badRequest('invalid_request', message, { fields: { [field]: message } })
}
