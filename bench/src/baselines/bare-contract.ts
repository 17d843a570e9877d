/** What the bare worker baseline takes from its queue (kept apart so importing it starts no worker). */
export const BARE_QUEUE = 'bare-sms'
export interface BareJob { accessToken: string, contactId: string, message: string }
