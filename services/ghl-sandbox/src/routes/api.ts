/**
 * The HighLevel endpoints the project calls, answering the documented shapes. Each goes through
 * `authorize` (Version, token, rate limit, faults, scope) and then checks the location.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { authorize, canReach, type SandboxContext } from '../context.ts'
import { MESSAGES, sendGhlError } from '../http.ts'
import type { SandboxContact, SandboxLocation } from '../state.ts'

const CONTACTS_VERSION = '2021-07-28'
const LOCATIONS_VERSION = '2021-07-28'
const CONVERSATIONS_VERSION = '2021-04-15'
const MESSAGE_TYPES = ['SMS', 'RCS', 'Email', 'WhatsApp', 'IG', 'FB', 'Custom', 'Live_Chat', 'TIKTOK']

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function contactView (c: SandboxContact): Record<string, unknown> {
  // HighLevel leaves unset fields out rather than sending null.
  return Object.fromEntries(Object.entries({
    id: c.id, locationId: c.locationId, name: c.name, firstName: c.firstName, lastName: c.lastName,
    firstNameLowerCase: c.firstName?.toLowerCase(), lastNameLowerCase: c.lastName?.toLowerCase(),
    phone: c.phone, email: c.email, emailLowerCase: c.email, dateAdded: c.dateAdded, dateUpdated: c.dateUpdated,
    tags: c.tags, type: 'lead', source: 'public api', dnd: false,
  }).filter(([, v]) => v !== null && v !== undefined))
}

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
    const grant = await authorize(ctx, request, reply, { version: CONVERSATIONS_VERSION, scope: 'conversations/message.write' })
    if (!grant) return reply
    const body = (request.body ?? {}) as Record<string, unknown>
    const type = str(body.type)
    const contactId = str(body.contactId)
    const message = str(body.message)
    const attachments = Array.isArray(body.attachments) ? body.attachments : []
    const problems = [
      ...(type && MESSAGE_TYPES.includes(type) ? [] : [`type must be one of the following values: ${MESSAGE_TYPES.join(', ')}`]),
      ...(contactId ? [] : ['contactId must be a string']),
      ...(type !== 'SMS' || (message && message.trim()) || attachments.length > 0 ? [] : ['message should not be empty']),
    ]
    if (problems.length > 0) return sendGhlError(reply, 422, problems)
    const contact = state.contacts.get(contactId ?? '')
    if (!contact) return sendGhlError(reply, 400, 'Contact not found')
    if (!canReach(ctx, grant, contact.locationId)) return sendGhlError(reply, 403, MESSAGES.location)
    const sent = state.recordMessage({
      locationId: contact.locationId,
      contactId: contact.id,
      type: type ?? 'SMS',
      body: message ?? '',
      toNumber: str(body.toNumber) ?? contact.phone,
      fromNumber: str(body.fromNumber) ?? null,
      scheduledTimestamp: typeof body.scheduledTimestamp === 'number' ? body.scheduledTimestamp : null,
    })
    return { conversationId: sent.conversationId, messageId: sent.messageId, msg: 'Message queued successfully.', status: 'pending' }
  })
}
