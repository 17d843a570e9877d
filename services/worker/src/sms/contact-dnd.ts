/**
 * Opt-outs: an SMS to a contact with SMS do-not-disturb is not POSTed; it fails as `contact_dnd`
 * from `queued`, so no attempt is spent. HighLevel manages the opt-outs (STOP replies included);
 * we learn them from its contact record, when the recipient lookup returned one, and from its
 * `ContactDndUpdate` webhooks kept per contact (the only source for a contact id, which is sent
 * without a lookup). Either saying DND is enough: a search result may carry `dnd` without
 * `dndSettings` (HighLevel's contacts/search leaves it out), so its "no" is not final.
 */
import type { ContactDndRead, ContactDndRepository, OutboxFailure } from '@ghl-connect/db'
import { smsDoNotDisturb } from '@ghl-connect/ghl'
import type { ResolvedContact } from './recipients.ts'

/** Where a send reads a contact's DND from (the webhooks' record). */
export type ContactDndLookup = Pick<ContactDndRepository, 'smsDnd' | 'emailDnd'>

export const CONTACT_DND: OutboxFailure = {
  code: 'contact_dnd',
  message: 'The contact opted out of SMS in HighLevel (do-not-disturb is on for SMS), so this SMS was not sent. It can be sent only after SMS do-not-disturb is turned off on the contact in HighLevel.',
}

export async function optedOutOfSms (contacts: Pick<ContactDndLookup, 'smsDnd'>, locationId: string, contact: ResolvedContact): Promise<boolean> {
  if (contact.record && smsDoNotDisturb(contact.record) === true) return true
  return await contacts.smsDnd(locationId, contact.id) === true
}

/**
 * The lookup for one send: the contact's DND read with its message (`findWithStamp`) answers for
 * that contact at that location, without another round trip; any other contact (found by phone,
 * name or address) or location is read from the repository as before.
 */
export function withDndRead (contacts: ContactDndLookup, read: ContactDndRead | null): ContactDndLookup {
  if (!read) return contacts
  const known = (locationId: string, contactId: string) => locationId === read.locationId && contactId === read.contactId
  return {
    smsDnd: async (locationId, contactId) => known(locationId, contactId) ? read.smsDnd : contacts.smsDnd(locationId, contactId),
    emailDnd: async (locationId, contactId) => known(locationId, contactId) ? read.emailDnd : contacts.emailDnd(locationId, contactId),
  }
}
