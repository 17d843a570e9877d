/**
 * Turns the recipient the CRM gave into a HighLevel contact id: a contact id as given; a phone
 * number found (or created) in the location; a name, which must be exactly one contact's full name;
 * an email address, which must be exactly one contact's (or, asked to, a contact created for it).
 */
import type { Recipient } from '@ghl-connect/db'
import type { GhlClient, GhlContact } from '@ghl-connect/ghl'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'

/** A recipient that cannot be resolved: failed for good, the CRM must say who it means. */
export class RecipientError extends Error {
  override name = 'RecipientError'
  constructor (readonly code: 'contact_not_found' | 'ambiguous_contact', message: string) {
    super(message)
  }
}

/** The location's rate limit has no slot for the next search page soon: the job runs again in `delayMs`. */
export class SearchPageDeferred extends Error {
  override name = 'SearchPageDeferred'
  constructor (readonly delayMs: number) {
    super(`the next contact search page waits ${delayMs} ms for the location's rate limit`)
  }
}

/**
 * A name search reads up to SEARCH_MAX_PAGES pages of SEARCH_PAGE_LIMIT contacts (HighLevel's
 * standard pagination: `page` from 1, `pageLimit`, `total`). When more contacts than that match
 * the search, the name is refused as ambiguous: a match among those not read could be the one
 * meant, or a second one.
 */
export const SEARCH_PAGE_LIMIT = 100
export const SEARCH_MAX_PAGES = 10

/**
 * HighLevel calls a recipient costs before any page beyond a name search's first, for the
 * location's rate limit (the send itself included). Each further page is reserved when it is
 * needed (`beforePage` of `resolveContact`).
 */
export function callsFor (to: Recipient): number {
  if ('contactId' in to) return 1
  if ('phone' in to) return 3 // find by phone, create when missing, send
  return 2 // the search's first page (a name or an address), send
}

const describe = (c: GhlContact) => [c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' '), c.phone, c.id].filter(Boolean).join(' / ')

/** A name as compared: trimmed, inner whitespace collapsed, any case. */
const normalName = (name: string) => name.trim().replace(/\s+/g, ' ').toLowerCase()
const fullName = (c: GhlContact) => normalName(c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' '))

/** The contact an SMS goes to, and its record as the lookup returned it (none for a contact id: it is not looked up). */
export interface ResolvedContact { id: string, record: GhlContact | null }

export async function resolveContact (ghl: GhlClient, metrics: Metrics | undefined, auth: { accessToken: string, locationId: string }, to: Recipient,
  beforePage: (page: number) => Promise<void> = async () => {}): Promise<ResolvedContact> {
  if ('contactId' in to) return { id: to.contactId, record: null }
  if ('email' in to) return contactWithEmail(ghl, metrics, auth, to.email, null, beforePage)
  if ('phone' in to) {
    const found = await timeGhlCall(metrics, 'findContactByPhone', () => ghl.contacts.findByPhone({ ...auth, phone: to.phone }))
    if (found.data) return { id: found.data.id, record: found.data }
    const created = await timeGhlCall(metrics, 'upsertContact', () => ghl.contacts.upsert({ ...auth, phone: to.phone }))
    return { id: created.data.contact.id, record: created.data.contact }
  }
  return contactNamed(ghl, metrics, auth, to.name, beforePage)
}

/**
 * The one contact whose address is `email` (any case), among every contact a search for it finds;
 * none: created when `create` says so (its name as given, if any), else contact_not_found.
 */
export async function contactWithEmail (ghl: GhlClient, metrics: Metrics | undefined, auth: { accessToken: string, locationId: string }, email: string,
  create: { name?: string } | null, beforePage: (page: number) => Promise<void>): Promise<ResolvedContact> {
  const wanted = email.trim().toLowerCase()
  const exact = await searchAll(ghl, metrics, auth, wanted, (c) => c.email?.trim().toLowerCase() === wanted, beforePage,
    `More than ${SEARCH_MAX_PAGES * SEARCH_PAGE_LIMIT} contacts match the address, more than are compared, so which one is meant cannot be told; send the contact id of the one you mean.`)
  if (exact.length === 1) return { id: exact[0]!.id, record: exact[0]! }
  if (exact.length > 1) {
    throw new RecipientError('ambiguous_contact', `More than one contact (${exact.slice(0, 5).map((c) => c.id).join(', ')}) has this email address. Send the contact id of the one you mean.`)
  }
  if (!create) throw new RecipientError('contact_not_found', 'No contact has this email address in this GoHighLevel location (compared in any case); send createContact: true to create one, or send a contact id.')
  const created = await timeGhlCall(metrics, 'upsertContact', () => ghl.contacts.upsert({ ...auth, email: wanted, name: create.name }))
  return { id: created.data.contact.id, record: created.data.contact }
}

/**
 * Every contact a search for `query` finds that `matches`, reading up to SEARCH_MAX_PAGES pages;
 * stops early once two match (enough to refuse). More results than are read: `tooMany`.
 */
async function searchAll (ghl: GhlClient, metrics: Metrics | undefined, auth: { accessToken: string, locationId: string }, query: string,
  matches: (c: GhlContact) => boolean, beforePage: (page: number) => Promise<void>, tooMany: string): Promise<GhlContact[]> {
  const exact: GhlContact[] = []
  let read = 0
  for (let page = 1; page <= SEARCH_MAX_PAGES; page++) {
    if (page > 1) await beforePage(page)
    const { data } = await timeGhlCall(metrics, 'searchContacts', () => ghl.contacts.search({ ...auth, query, page, pageLimit: SEARCH_PAGE_LIMIT }))
    exact.push(...data.contacts.filter(matches))
    read += data.contacts.length
    // Two are enough to refuse; a short page, or `total` reached, is the end of the results.
    const end = data.contacts.length < SEARCH_PAGE_LIMIT || (typeof data.total === 'number' && read >= data.total)
    if (exact.length > 1 || end) return exact
  }
  throw new RecipientError('ambiguous_contact', tooMany)
}

/** The one contact whose full name is `name` (any case), among every contact the search finds. */
async function contactNamed (ghl: GhlClient, metrics: Metrics | undefined, auth: { accessToken: string, locationId: string }, name: string,
  beforePage: (page: number) => Promise<void>): Promise<ResolvedContact> {
  const query = name.trim().replace(/\s+/g, ' ')
  const wanted = normalName(name)
  const exact = await searchAll(ghl, metrics, auth, query, (c) => fullName(c) === wanted, beforePage,
    `More than ${SEARCH_MAX_PAGES * SEARCH_PAGE_LIMIT} contacts match "${query}", more than are compared, so which one is meant cannot be told; send the contact id or phone number of the one you mean.`)
  return theOne(exact, query)
}

function theOne (exact: GhlContact[], name: string): ResolvedContact {
  if (exact.length === 1) return { id: exact[0]!.id, record: exact[0]! }
  if (exact.length === 0) {
    throw new RecipientError('contact_not_found', `No contact named "${name}" in this GoHighLevel location (the full name must match, in any case); send a phone number or a contact id instead.`)
  }
  const shown = exact.slice(0, 5).map(describe).join('; ')
  throw new RecipientError('ambiguous_contact', `More than one contact is named "${name}": ${shown}. Send the contact id or phone number of the one you mean.`)
}
