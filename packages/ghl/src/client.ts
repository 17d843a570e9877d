/**
 * The only code that speaks HTTP to HighLevel, one client per API family behind one facade:
 * `ghl.oauth`, `ghl.locations`, `ghl.contacts`, `ghl.messages`, `ghl.conversations`, and the
 * proxy's `ghl.forward`. All of them share one transport (transport.ts), the single path every
 * answer takes: one pool per origin, a deadline per call, the documented `Version` header per
 * endpoint, the rate-limit headers reported, and every failure a GhlError.
 */
import { ContactsClient } from './contacts.ts'
import { ConversationsClient } from './conversations.ts'
import { LocationsClient } from './locations.ts'
import { MessagesClient } from './messages.ts'
import { OAuthClient, type OAuthAppOptions } from './oauth.ts'
import { GhlTransport, type ForwardAnswer, type ForwardCall, type GhlTransportOptions } from './transport.ts'

/** The `ghl` section of @ghl-connect/config fits as it is. */
export interface GhlClientOptions extends OAuthAppOptions, GhlTransportOptions {}

export class GhlClient {
  readonly oauth: OAuthClient
  readonly locations: LocationsClient
  readonly contacts: ContactsClient
  readonly messages: MessagesClient
  readonly conversations: ConversationsClient
  private readonly transport: GhlTransport

  constructor (options: GhlClientOptions) {
    this.transport = new GhlTransport(options)
    this.oauth = new OAuthClient(this.transport, options)
    this.locations = new LocationsClient(this.transport)
    this.contacts = new ContactsClient(this.transport)
    this.messages = new MessagesClient(this.transport)
    this.conversations = new ConversationsClient(this.transport)
  }

  /** The proxy's call: HighLevel's answer whatever its status, through the same transport. */
  forward (call: ForwardCall): Promise<ForwardAnswer> {
    return this.transport.forward(call)
  }

  close (): Promise<void> {
    return this.transport.close()
  }
}
