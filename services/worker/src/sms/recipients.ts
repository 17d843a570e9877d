/**
 * Turns the recipient the CRM gave into a HighLevel contact id: a contact id as given; a phone
 * number found (or created) in the location; a name searched, which must match exactly one contact.
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

/** HighLevel calls a recipient may cost, for the location's rate limit (the send itself included). */
export function callsFor (to: Recipient): number {
  if ('contactId' in to) return 1
  if ('phone' in to) return 3 // find by phone, create when missing, send
  return 2 // search, send
}

const describe = (c: GhlContact) => [c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' '), c.phone, c.id].filter(Boolean).join(' / ')

export async function resolveContactId (ghl: GhlClient, metrics: Metrics | undefined, auth: { accessToken: string, locationId: string }, to: Recipient): Promise<string> {
  if ('contactId' in to) return to.contactId
  if ('phone' in to) {
    const found = await timeGhlCall(metrics, 'findContactByPhone', () => ghl.findContactByPhone({ ...auth, phone: to.phone }))
    if (found.data) return found.data.id
    const created = await timeGhlCall(metrics, 'upsertContact', () => ghl.upsertContact({ ...auth, phone: to.phone }))
    return created.data.contact.id
  }
  const { data } = await timeGhlCall(metrics, 'searchContacts', () => ghl.searchContacts({ ...auth, query: to.name, pageLimit: 10 }))
  const wanted = to.name.trim().toLowerCase()
  const fullName = (c: GhlContact) => (c.name ?? [c.firstName, c.lastName].filter(Boolean).join(' ')).trim().toLowerCase()
  // The search matches parts of names; an exact match among several is the one meant.
  const exact = data.contacts.filter((c) => fullName(c) === wanted)
  const candidates = exact.length > 0 ? exact : data.contacts
  if (candidates.length === 1) return candidates[0]!.id
  if (candidates.length === 0) {
    throw new RecipientError('contact_not_found', `No contact named "${to.name}" in this GoHighLevel location; send a phone number or a contact id instead.`)
  }
  const shown = candidates.slice(0, 5).map(describe).join('; ')
  const more = candidates.length > 5 ? ` and ${candidates.length - 5} more` : ''
  throw new RecipientError('ambiguous_contact', `${candidates.length} contacts match "${to.name}": ${shown}${more}. Send the contact id or phone number of the one you mean.`)
}
