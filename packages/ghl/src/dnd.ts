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
  const sms = (contact.dndSettings as { SMS?: { status?: unknown } } | null | undefined)?.SMS?.status
  if (contact.dnd === true) return true
  if (sms === 'active' || sms === 'permanent') return true
  if (contact.dnd === false || sms === 'inactive') return false
  return undefined
}
