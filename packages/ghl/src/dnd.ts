/**
 * A contact's SMS do-not-disturb as HighLevel describes it, in the one reading the api (the
 * `ContactDndUpdate` webhook) and the worker (the contact record) share. HighLevel's help centre:
 * "When DND is enabled for a contact on the SMS channel or overall, HighLevel doesn't send the
 * SMS". So `dnd: true` (every channel) or `dndSettings.SMS.status` `active` or `permanent` (the
 * contacts spec's DndSettingSchema enum; `inactive` lets SMS through). The specs do not say
 * which wins when `dnd` is true and SMS is `inactive` (HighLevel's own webhook example has both):
 * the help centre's "or overall" does, so DND.
 */
export interface DndFields {
  dnd?: unknown
  dndSettings?: unknown
}

/** true / false when the fields say; undefined when they carry no DND at all (HighLevel left them out). */
export function smsDoNotDisturb (contact: DndFields): boolean | undefined {
  return doNotDisturb(contact, 'SMS')
}

/** The same reading for email: `dnd` (every channel) or `dndSettings.Email`. */
export function emailDoNotDisturb (contact: DndFields): boolean | undefined {
  return doNotDisturb(contact, 'Email')
}

function doNotDisturb (contact: DndFields, channel: 'SMS' | 'Email'): boolean | undefined {
  const status = (contact.dndSettings as Partial<Record<typeof channel, { status?: unknown }>> | null | undefined)?.[channel]?.status
  if (contact.dnd === true) return true
  if (status === 'active' || status === 'permanent') return true
  if (contact.dnd === false || status === 'inactive') return false
  return undefined
}
