/**
 * What differs between the outbox's channels, in one place. The send state machine
 * (sms-sender.ts), its outcomes, the retry budget, attempt fencing and settling a lost answer
 * (unknown-outcome.ts, sent-check.ts) serve SMS and email alike; a channel says only who the
 * message goes to, whether that contact can get it, how it is POSTed, and how HighLevel lists it.
 */
import type { MessageChannel, OutboxFailure, OutboxMessage } from '@ghl-connect/db'
import { recipientOf } from '@ghl-connect/db'
import { emailDoNotDisturb, type GhlClient } from '@ghl-connect/ghl'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { CONTACT_DND, optedOutOfSms, type ContactDndLookup } from './contact-dnd.ts'
import { callsFor, contactWithEmail, resolveContact, type ResolvedContact } from './recipients.ts'
import type { SentIds } from './sent-receipts.ts'

type Auth = { accessToken: string, locationId: string }

export interface SendChannel {
  /** HighLevel calls the recipient costs before any page beyond a search's first, the send included. */
  callsFor (message: OutboxMessage): number
  resolve (ghl: GhlClient, metrics: Metrics | undefined, auth: Auth, message: OutboxMessage, beforePage: (page: number) => Promise<void>): Promise<ResolvedContact>
  /** Why this contact cannot get the message (no address, do-not-disturb), or null. Failed from `queued`: no attempt spent. */
  refusal (contactDnd: ContactDndLookup, locationId: string, contact: ResolvedContact): Promise<OutboxFailure | null>
  /** The POST itself. */
  send (ghl: GhlClient, metrics: Metrics | undefined, auth: Auth, message: OutboxMessage, contactId: string): Promise<SentIds>
  /** How HighLevel's export lists it: the `channel` to ask for and the listed `messageType`. */
  exportChannel: 'SMS' | 'Email'
  listedType: string
}


export const CONTACT_HAS_NO_EMAIL: OutboxFailure = {
  code: 'contact_has_no_email',
  message: 'The contact has no email address in GoHighLevel, so this email was not sent. Add an address to the contact in GoHighLevel, or send to an address (to.email) instead.',
}

export const CONTACT_EMAIL_DND: OutboxFailure = {
  code: 'contact_dnd',
  message: 'The contact opted out of email in HighLevel (do-not-disturb is on for Email), so this email was not sent. It can be sent only after email do-not-disturb is turned off on the contact in HighLevel.',
}

const sms: SendChannel = {
  callsFor: (message) => callsFor(recipientOf(message)),
  resolve: (ghl, metrics, auth, message, beforePage) => resolveContact(ghl, metrics, auth, recipientOf(message), beforePage),
  refusal: async (contactDnd, locationId, contact) => await optedOutOfSms(contactDnd, locationId, contact) ? CONTACT_DND : null,
  async send (ghl, metrics, auth, message, contactId) {
    const { data } = await timeGhlCall(metrics, 'sendSms',
      () => ghl.messages.sendSms({ ...auth, contactId, message: message.body, fromNumber: message.fromNumber ?? undefined }))
    return { messageId: data.messageId, conversationId: data.conversationId ?? null, status: data.status ?? null }
  },
  exportChannel: 'SMS',
  listedType: 'TYPE_SMS',
}

/**
 * An email is looked up whoever it goes to, a contact id included (one more call): the record
 * says whether the contact has an address and opted out of email, before anything is POSTed.
 */
const email: SendChannel = {
  callsFor: (message) => {
    const to = recipientOf(message)
    // get or search, send; a new address may be created too
    return 'email' in to && message.emailOptions?.createContact ? 3 : 2
  },
  async resolve (ghl, metrics, auth, message, beforePage) {
    const to = recipientOf(message)
    if ('contactId' in to) {
      const { data } = await timeGhlCall(metrics, 'getContact', () => ghl.contacts.get({ accessToken: auth.accessToken, contactId: to.contactId }))
      return { id: data.id ?? to.contactId, record: data }
    }
    if ('email' in to) {
      const options = message.emailOptions ?? {}
      return contactWithEmail(ghl, metrics, auth, to.email, options.createContact ? { name: options.contactName } : null, beforePage)
    }
    return resolveContact(ghl, metrics, auth, to, beforePage)
  },
  async refusal (contactDnd, locationId, contact) {
    if (!contact.record?.email) return CONTACT_HAS_NO_EMAIL
    if (emailDoNotDisturb(contact.record) === true) return CONTACT_EMAIL_DND
    return await contactDnd.emailDnd(locationId, contact.id) === true ? CONTACT_EMAIL_DND : null
  },
  async send (ghl, metrics, auth, message, contactId) {
    const o = message.emailOptions ?? {}
    const html = message.bodyIsHtml === true
    const from = o.fromEmail ? (o.fromName ? `${o.fromName} <${o.fromEmail}>` : o.fromEmail) : undefined
    const { data } = await timeGhlCall(metrics, 'sendEmail', () => ghl.messages.sendEmail({
      ...auth,
      contactId,
      subject: message.subject ?? '',
      html: html ? message.body : undefined,
      message: html ? o.text : message.body,
      emailFrom: from,
      // An address the CRM gave is the one the email goes to, even when the contact has others.
      emailTo: message.email ?? undefined,
      emailCc: o.cc,
      emailBcc: o.bcc,
      attachments: o.attachments,
      replyMessageId: o.replyToMessageId,
    }))
    return { messageId: data.messageId, conversationId: data.conversationId ?? null, status: data.status ?? null }
  },
  exportChannel: 'Email',
  listedType: 'TYPE_EMAIL',
}

const channels: Record<MessageChannel, SendChannel> = { sms, email }

export const sendChannelOf = (message: Pick<OutboxMessage, 'channel'>): SendChannel => channels[message.channel]
