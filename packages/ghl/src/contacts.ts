/** HighLevel's contacts: who an SMS goes to, found by name or number, or created for a new number. */
import { requireField, type Authorized, type GhlTransport } from './transport.ts'
import type { ContactSearchResult, GhlAnswer, GhlContact, UpsertContactResult } from './types.ts'
import { GHL_VERSIONS } from './versions.ts'

export class ContactsClient {
  constructor (private readonly transport: GhlTransport) {}

  /** One page (`page` from 1, `pageLimit` per page) of the contacts matching `query`; `total` counts them all. */
  async search ({ accessToken, locationId, query, page = 1, pageLimit = 20 }: Authorized & { locationId: string, query: string, page?: number, pageLimit?: number }): Promise<GhlAnswer<ContactSearchResult>> {
    const answer = await this.transport.call<ContactSearchResult>({
      operation: 'searchContacts', method: 'POST', path: '/contacts/search', version: GHL_VERSIONS.contacts,
      accessToken, locationId, json: { locationId, page, pageLimit, query },
    })
    return { ...answer, data: { ...answer.data, contacts: Array.isArray(answer.data?.contacts) ? answer.data.contacts : [] } }
  }

  /** One contact by id (scope `contacts.readonly`). */
  async get ({ accessToken, contactId }: Authorized & { contactId: string }): Promise<GhlAnswer<GhlContact>> {
    const answer = await this.transport.call<{ contact?: GhlContact }>({
      operation: 'getContact', method: 'GET', path: `/contacts/${encodeURIComponent(contactId)}`, version: GHL_VERSIONS.contacts, accessToken,
    })
    requireField(answer, 'contact', 'getContact')
    return { ...answer, data: answer.data.contact as GhlContact }
  }

  /** The contact HighLevel considers the duplicate for this phone number, or null. */
  async findByPhone ({ accessToken, locationId, phone }: Authorized & { locationId: string, phone: string }): Promise<GhlAnswer<GhlContact | null>> {
    const answer = await this.transport.call<{ contact?: GhlContact | null }>({
      operation: 'findContactByPhone', method: 'GET', path: '/contacts/search/duplicate', version: GHL_VERSIONS.contacts,
      accessToken, locationId, query: { locationId, number: phone },
    })
    // The answer's shape is undocumented: take `contact` when it looks like one, else none.
    const contact = answer.data?.contact
    return { ...answer, data: contact && typeof contact.id === 'string' ? contact : null }
  }

  async upsert ({ accessToken, locationId, ...fields }: Authorized & { locationId: string, phone?: string, email?: string, name?: string, firstName?: string, lastName?: string }): Promise<GhlAnswer<UpsertContactResult>> {
    const answer = await this.transport.call<UpsertContactResult>({
      operation: 'upsertContact', method: 'POST', path: '/contacts/upsert', version: GHL_VERSIONS.contacts,
      accessToken, locationId, json: { locationId, ...fields },
    })
    requireField(answer, 'contact', 'upsertContact')
    return answer
  }
}
