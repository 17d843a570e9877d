/**
 * The HighLevel endpoints the project calls, answering the documented shapes. Each goes through
 * `authorize` (Version, token, rate limit, faults, scope) and then checks the location.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { answerAccepted, authorize, canReach, type SandboxContext } from '../context.ts'
import { MESSAGES, sendGhlError } from '../http.ts'
import { ghlId } from '../ids.ts'
import { digits, emailRefused, smsRefused, type SandboxContact, type SandboxLocation, type SentMessage, type ThreadEntry } from '../state.ts'

const CONTACTS_VERSION = '2021-07-28'
const LOCATIONS_VERSION = '2021-07-28'
export const CONVERSATIONS_VERSION = '2021-04-15'
const MESSAGE_TYPES = ['SMS', 'RCS', 'Email', 'WhatsApp', 'IG', 'FB', 'Custom', 'Live_Chat', 'TIKTOK']

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export function contactView (c: SandboxContact): Record<string, unknown> {
  // HighLevel leaves unset fields out rather than sending null.
  return Object.fromEntries(Object.entries({
    id: c.id, locationId: c.locationId, name: c.name, firstName: c.firstName, lastName: c.lastName,
    firstNameLowerCase: c.firstName?.toLowerCase(), lastNameLowerCase: c.lastName?.toLowerCase(),
    phone: c.phone, email: c.email, emailLowerCase: c.email, dateAdded: c.dateAdded, dateUpdated: c.dateUpdated,
    tags: c.tags, type: 'lead', source: 'public api', dnd: c.dnd,
    dndSettings: Object.keys(c.dndSettings).length > 0 ? c.dndSettings : undefined,
  }).filter(([, v]) => v !== null && v !== undefined))
}

/** The channels the export filters by, and the message types each stands for (email is never listed without asking for it). */
const EXPORT_CHANNELS: Record<string, string> = { Call: 'Call', SMS: 'SMS', Email: 'Email', WhatsApp: 'WhatsApp', Instagram: 'IG', Facebook: 'FB' }
/** HighLevel's numeric message type and its name, for the types the sandbox sends (TYPE_SMS is 2 in HighLevel's enum). */
export const TYPE_VIEW: Record<string, { type: number, messageType: string }> = {
  SMS: { type: 2, messageType: 'TYPE_SMS' },
  Email: { type: 3, messageType: 'TYPE_EMAIL' },
  WhatsApp: { type: 19, messageType: 'TYPE_WHATSAPP' },
  IG: { type: 18, messageType: 'TYPE_INSTAGRAM' },
  FB: { type: 11, messageType: 'TYPE_FACEBOOK' },
}

export function messageView (m: SentMessage): Record<string, unknown> {
  const { type, messageType } = TYPE_VIEW[m.type] ?? { type: 2, messageType: 'TYPE_SMS' }
  return {
    id: m.messageId, type, messageType, locationId: m.locationId, contactId: m.contactId, conversationId: m.conversationId,
    dateAdded: m.sentAt, body: m.body, direction: 'outbound', status: 'sent', contentType: m.email?.html ? 'text/html' : 'text/plain',
    attachments: m.email?.attachments ?? [], source: 'api',
    // The spec leaves `meta` open; HighLevel's email messages carry their email ids there (see README).
    ...(m.email ? { meta: { email: { messageIds: [m.email.emailMessageId], subject: m.email.subject } } } : {}),
  }
}

/** A message as get-messages, the export and get-message show it: its status is the one its delivery reports gave. */
export function entryView (entry: ThreadEntry): Record<string, unknown> {
  if (entry.direction === 'outbound') return { ...messageView(entry.message), status: entry.message.status }
  const m = entry.message
  const { type, messageType } = TYPE_VIEW[m.type] ?? { type: 2, messageType: 'TYPE_SMS' }
  return {
    id: m.messageId, type, messageType, locationId: m.locationId, contactId: m.contactId, conversationId: m.conversationId,
    dateAdded: m.receivedAt, body: m.body, direction: 'inbound', status: 'delivered', contentType: 'text/plain', attachments: [],
    // An email: its HTML body, its attachments, and (MessageMeta) the ids of the emails it stands for.
    ...(m.email ? { contentType: 'text/html', attachments: m.email.attachments, meta: { email: { messageIds: [m.email.emailMessageId] } } } : {}),
  }
}

const createdAt = (e: ThreadEntry) => Date.parse(e.direction === 'outbound' ? e.message.sentAt : e.message.receivedAt)
/** The export's updatedAt: a delivery report changes an outbound message; a received one never changes. */
const updatedAt = (e: ThreadEntry) => (e.direction === 'outbound' && e.message.statusAt ? Date.parse(e.message.statusAt) : createdAt(e))

const strings = (v: unknown): string[] | null => (v === undefined ? [] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null)

/** An email send's own fields, checked as HighLevel documents them (see README for what it leaves open). */
function emailProblems (body: Record<string, unknown>): string[] {
  const html = str(body.html)
  const message = str(body.message)
  return [
    ...(str(body.subject)?.trim() ? [] : ['subject should not be empty']),
    ...((html && html.trim()) || (message && message.trim()) ? [] : ['html or message should not be empty']),
    ...(body.emailFrom === undefined || str(body.emailFrom) ? [] : ['emailFrom must be a string']),
    ...(body.emailTo === undefined || str(body.emailTo)?.includes('@') ? [] : ['emailTo must be an email']),
    ...(strings(body.emailCc) ? [] : ['emailCc must be an array of strings']),
    ...(strings(body.emailBcc) ? [] : ['emailBcc must be an array of strings']),
    ...(strings(body.attachments) ? [] : ['attachments must be an array of strings']),
  ]
}

/** A date query parameter: ISO 8601 or milliseconds since the epoch (the spec only says "string"). */
function dateParam (value: string | undefined): number | undefined | null {
  if (value === undefined || value === '') return undefined
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  return Number.isFinite(ms) ? ms : null
}

/** The export's opaque cursor: where the previous page ended, in its order (the sort field's value, then the thread position). */
interface ExportKey { sort: number, seq: number }
const encodeCursor = (key: ExportKey) => Buffer.from(JSON.stringify({ lastSort: [key.sort], lastSeq: key.seq })).toString('base64')
function decodeCursor (cursor: string): ExportKey | null {
  try {
    const { lastSort, lastSeq } = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { lastSort?: unknown, lastSeq?: unknown }
    const sort = Array.isArray(lastSort) ? lastSort[0] : undefined
    return typeof sort === 'number' && typeof lastSeq === 'number' ? { sort, seq: lastSeq } : null
  } catch {
    return null
  }
}
const compareKeys = (a: ExportKey, b: ExportKey) => (a.sort - b.sort) || (a.seq - b.seq)

function locationView (l: SandboxLocation): Record<string, unknown> {
  return {
    id: l.id, companyId: l.companyId, name: l.name, email: l.email, phone: l.phone, timezone: l.timezone,
    address: '1 Sandbox Way', city: 'Springfield', state: 'IL', country: 'US', postalCode: '62701',
    business: { name: l.name, timezone: l.timezone, country: 'US' },
    settings: { allowDuplicateContact: false, allowDuplicateOpportunity: false, allowFacebookNameMerge: false, disableContactTimezone: false },
  }
}

export function apiRoutes (app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx

  app.get<{ Params: { locationId: string } }>('/locations/:locationId', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: LOCATIONS_VERSION, scope: 'locations.readonly' })
    if (!grant) return reply
    const location = state.locations.get(request.params.locationId)
    if (!location || !canReach(ctx, grant, location.id)) return sendGhlError(reply, 403, MESSAGES.location)
    return { location: locationView(location) }
  })

  app.post('/contacts/search', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONTACTS_VERSION, scope: 'contacts.readonly' })
    if (!grant) return reply
    const body = (request.body ?? {}) as Record<string, unknown>
    const locationId = str(body.locationId)
    const pageLimit = body.pageLimit === undefined ? 20 : body.pageLimit
    const page = body.page === undefined ? 1 : body.page
    const problems = [
      ...(locationId ? [] : ['locationId must be a string']),
      ...(typeof pageLimit === 'number' && Number.isInteger(pageLimit) && pageLimit >= 1 && pageLimit <= 500 ? [] : ['pageLimit must be an integer between 1 and 500']),
      ...(typeof page === 'number' && Number.isInteger(page) && page >= 1 ? [] : ['page must be an integer, 1 or more']),
      ...(body.query === undefined || typeof body.query === 'string' ? [] : ['query must be a string']),
    ]
    if (problems.length > 0) return sendGhlError(reply, 422, problems)
    if (!canReach(ctx, grant, locationId ?? '')) return sendGhlError(reply, 403, MESSAGES.location)
    // Standard pagination: `page` (from 1) of `pageLimit` contacts; `total` counts every match.
    const found = state.searchContacts(locationId ?? '', str(body.query) ?? '')
    const from = ((page as number) - 1) * (pageLimit as number)
    return { contacts: found.slice(from, from + (pageLimit as number)).map(contactView), total: found.length, traceId: randomUUID() }
  })

  app.get<{ Querystring: Record<string, string | undefined> }>('/contacts/search/duplicate', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONTACTS_VERSION, scope: 'contacts.readonly' })
    if (!grant) return reply
    const { locationId, number, email } = request.query
    if (!locationId) return sendGhlError(reply, 422, ['locationId must be a string'])
    if (!canReach(ctx, grant, locationId)) return sendGhlError(reply, 403, MESSAGES.location)
    const contact = (number ? state.findByPhone(locationId, number) : undefined) ?? (email ? state.findByEmail(locationId, email) : undefined)
    return { contact: contact ? contactView(contact) : null, traceId: randomUUID() }
  })

  app.post('/contacts/upsert', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONTACTS_VERSION, scope: 'contacts.write' })
    if (!grant) return reply
    const body = (request.body ?? {}) as Record<string, unknown>
    const locationId = str(body.locationId)
    const phone = str(body.phone)
    const email = str(body.email)
    const problems = [
      ...(locationId ? [] : ['locationId must be a string']),
      ...(phone || email ? [] : ['phone or email must be provided']),
    ]
    if (problems.length > 0) return sendGhlError(reply, 422, problems)
    if (!canReach(ctx, grant, locationId ?? '')) return sendGhlError(reply, 403, MESSAGES.location)
    const names = { name: str(body.name), firstName: str(body.firstName), lastName: str(body.lastName) }
    const existing = (phone ? state.findByPhone(locationId ?? '', phone) : undefined) ?? (email ? state.findByEmail(locationId ?? '', email) : undefined)
    if (existing) {
      for (const [k, v] of Object.entries({ ...names, phone, email })) if (v !== undefined) (existing as unknown as Record<string, unknown>)[k] = v
      existing.dateUpdated = new Date(ctx.clock.now()).toISOString()
      return { new: false, contact: contactView(existing), traceId: randomUUID() }
    }
    const contact = state.addContact({ locationId: locationId ?? '', phone, email, ...Object.fromEntries(Object.entries(names).filter(([, v]) => v !== undefined)) })
    return { new: true, contact: contactView(contact), traceId: randomUUID() }
  })

  app.post('/conversations/messages', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations/message.write', accepts: true })
    if (!grant) return reply
    const body = (request.body ?? {}) as Record<string, unknown>
    const type = str(body.type)
    const contactId = str(body.contactId)
    const message = str(body.message)
    const attachments = Array.isArray(body.attachments) ? body.attachments : []
    const fromNumber = str(body.fromNumber)
    const problems = [
      ...(body.fromNumber === undefined || fromNumber ? [] : ['fromNumber must be a string']),
      ...(type && MESSAGE_TYPES.includes(type) ? [] : [`type must be one of the following values: ${MESSAGE_TYPES.join(', ')}`]),
      ...(contactId ? [] : ['contactId must be a string']),
      ...(type !== 'SMS' || (message && message.trim()) || attachments.length > 0 ? [] : ['message should not be empty']),
      ...(type === 'Email' ? emailProblems(body) : []),
    ]
    if (problems.length > 0) return sendGhlError(reply, 422, problems)
    const contact = state.contacts.get(contactId ?? '')
    if (!contact) return sendGhlError(reply, 400, 'Contact not found')
    if (!canReach(ctx, grant, contact.locationId)) return sendGhlError(reply, 403, MESSAGES.location)
    if (type === 'Email') return sendEmail(body, contact, reply)
    const senders = state.locations.get(contact.locationId)?.phoneNumbers ?? []
    // The docs are silent on a number the location does not own; see the README.
    if (fromNumber && !senders.some((n) => digits(n) === digits(fromNumber))) return sendGhlError(reply, 400, MESSAGES.fromNumber)
    // Undocumented refusal: the spec's closest documented answer, 400 BadRequestDTO (README).
    if (type === 'SMS' && smsRefused(contact)) return sendGhlError(reply, 400, MESSAGES.smsDnd)
    const sent = state.recordMessage({
      locationId: contact.locationId,
      contactId: contact.id,
      type: type ?? 'SMS',
      body: message ?? '',
      toNumber: str(body.toNumber) ?? contact.phone,
      fromNumber: fromNumber ?? senders[0] ?? null,
      scheduledTimestamp: typeof body.scheduledTimestamp === 'number' ? body.scheduledTimestamp : null,
    })
    ctx.messageWebhooks.afterSend(sent)
    return answerAccepted(ctx, reply, { conversationId: sent.conversationId, messageId: sent.messageId, msg: 'Message queued successfully.', status: 'pending' })
  })

  /**
   * An email: to `emailTo` or the contact's own address (none: refused), from `emailFrom` or the
   * location's address. Its body as listed is the HTML when sent, else the text (README).
   */
  function sendEmail (body: Record<string, unknown>, contact: SandboxContact, reply: FastifyReply) {
    const to = str(body.emailTo) ?? contact.email
    if (!to) return sendGhlError(reply, 400, MESSAGES.noEmail)
    // Undocumented like the SMS refusal: the same 400 (README).
    if (emailRefused(contact)) return sendGhlError(reply, 400, MESSAGES.emailDnd)
    const html = str(body.html)?.trim() ? str(body.html) ?? null : null
    const text = str(body.message) ?? null
    const emailMessageId = ghlId()
    const replyTo = str(body.replyMessageId) ?? str(body.threadId)
    const thread = replyTo ? state.sentMessages.find((m) => m.messageId === replyTo || m.email?.emailMessageId === replyTo)?.email?.threadId : undefined
    const sent = state.recordMessage({
      locationId: contact.locationId,
      contactId: contact.id,
      type: 'Email',
      body: html ?? text ?? '',
      toNumber: null,
      fromNumber: null,
      scheduledTimestamp: typeof body.scheduledTimestamp === 'number' ? body.scheduledTimestamp : null,
      email: {
        subject: str(body.subject) ?? '',
        html,
        text,
        from: str(body.emailFrom) ?? state.locations.get(contact.locationId)?.email ?? null,
        to,
        cc: strings(body.emailCc) ?? [],
        bcc: strings(body.emailBcc) ?? [],
        attachments: strings(body.attachments) ?? [],
        emailMessageId,
        threadId: thread ?? emailMessageId,
      },
    })
    ctx.messageWebhooks.afterSend(sent)
    return answerAccepted(ctx, reply, { conversationId: sent.conversationId, messageId: sent.messageId, emailMessageId, msg: 'Message queued successfully.', status: 'pending' })
  }

  // Export messages by location: filters, sort and cursor pages as the spec (export-messages-by-location) lists them.
  app.get<{ Querystring: Record<string, string | undefined> }>('/conversations/messages/export', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations/message.readonly' })
    if (!grant) return reply
    const q = request.query
    const limit = q.limit === undefined ? 100 : Number(q.limit)
    const startDate = dateParam(q.startDate)
    const endDate = dateParam(q.endDate)
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor)
    const problems = [
      ...(q.locationId ? [] : ['locationId must be a string']),
      ...(Number.isInteger(limit) && limit >= 10 && limit <= 500 ? [] : ['limit must be a number between 10 and 500']),
      ...(q.channel === undefined || q.channel in EXPORT_CHANNELS ? [] : [`channel must be one of the following values: ${Object.keys(EXPORT_CHANNELS).join(', ')}`]),
      ...(q.sortBy === undefined || ['createdAt', 'updatedAt'].includes(q.sortBy) ? [] : ['sortBy must be one of the following values: createdAt, updatedAt']),
      ...(q.sortOrder === undefined || ['asc', 'desc'].includes(q.sortOrder) ? [] : ['sortOrder must be one of the following values: asc, desc']),
      ...(startDate === null ? ['startDate must be a date'] : []),
      ...(endDate === null ? ['endDate must be a date'] : []),
      ...(after === null ? ['cursor is invalid'] : []),
    ]
    // The spec documents 400 (a single message) for a bad request here, not 422.
    if (problems.length > 0) return sendGhlError(reply, 400, problems.join('; '))
    if (!canReach(ctx, grant, q.locationId ?? '')) return sendGhlError(reply, 403, MESSAGES.location)
    const wantedType = q.channel === undefined ? undefined : EXPORT_CHANNELS[q.channel]
    const descending = (q.sortOrder ?? 'desc') === 'desc'
    const sortOf = q.sortBy === 'updatedAt' ? updatedAt : createdAt
    // Every message of the location, sent and received, in the thread's order (its position is the tie-break);
    // startDate and endDate bound the creation date (the spec does not say which date they filter: see the README).
    const matching = state.thread.map((entry, i) => ({ entry, key: { sort: sortOf(entry), seq: i + 1 } })).filter(({ entry: { message: m }, entry: e }) =>
      m.locationId === q.locationId &&
      (q.contactId === undefined || m.contactId === q.contactId) &&
      (q.conversationId === undefined || m.conversationId === q.conversationId) &&
      (wantedType === undefined ? m.type !== 'Email' : m.type === wantedType) &&
      (startDate == null || createdAt(e) >= startDate) &&
      (endDate == null || createdAt(e) <= endDate))
    matching.sort((a, b) => (descending ? compareKeys(b.key, a.key) : compareKeys(a.key, b.key)))
    const from = after == null ? 0 : matching.findIndex(({ key }) => (descending ? compareKeys(key, after) < 0 : compareKeys(key, after) > 0))
    const page = from < 0 ? [] : matching.slice(from, from + limit)
    const last = page[page.length - 1]
    const more = from >= 0 && from + limit < matching.length
    state.stats.messageExports++
    return {
      messages: page.map(({ entry }) => entryView(entry)),
      // The spec types nextCursor as a string ("null if no more results"): on the last page it is left out.
      ...(more && last ? { nextCursor: encodeCursor(last.key) } : {}),
      total: matching.length,
    }
  })

  // Get message by message id (get-message): the spec answers the message itself (GetMessageResponseDto).
  app.get<{ Params: { id: string } }>('/conversations/messages/:id', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations/message.readonly' })
    if (!grant) return reply
    const entry = state.thread.find((e) => e.message.messageId === request.params.id)
    // The spec documents 400 and 401 only: an id this token cannot see is answered like one that does not exist.
    if (!entry || !canReach(ctx, grant, entry.message.locationId)) return sendGhlError(reply, 400, 'Message not found')
    state.stats.messageLookups++
    return entryView(entry)
  })
}
