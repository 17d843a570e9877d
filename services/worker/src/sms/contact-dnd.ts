/**
 * Opt-outs: an SMS to a contact with SMS do-not-disturb is not POSTed; it fails as `contact_dnd`
 * from `queued`, so no attempt is spent. HighLevel manages the opt-outs (STOP replies included);
 * we learn them from its contact record, when the recipient lookup returned one, and from its
 * `ContactDndUpdate` webhooks kept per contact (the only source for a contact id, which is sent
 * without a lookup). Either saying DND is enough: a search result may carry `dnd` without
 * `dndSettings` (HighLevel's contacts/search leaves it out), so its "no" is not final.
 */
import type { ContactDndRepository, OutboxFailure } from '@ghl-connect/db'
import { smsDoNotDisturb } from '@ghl-connect/ghl'
import type { ResolvedContact } from './recipients.ts'

export const CONTACT_DND: OutboxFailure = {
  code: 'contact_dnd',
  message: 'The contact opted out of SMS in HighLevel (do-not-disturb is on for SMS), so this SMS was not sent. It can be sent only after SMS do-not-disturb is turned off on the contact in HighLevel.',
}

export async function optedOutOfSms (contacts: Pick<ContactDndRepository, 'smsDnd'>, locationId: string, contact: ResolvedContact): Promise<boolean> {
  if (contact.record && smsDoNotDisturb(contact.record) === true) return true
  return await contacts.smsDnd(locationId, contact.id) === true
}
