/**
 * What tests and people drive the sandbox with: seed data, read what was sent and counted, inject
 * faults, move the clock, send webhooks, reset. The HTTP API under /_sandbox/ calls the same methods.
 */
import type { SandboxContext } from './context.ts'
import type { CrmRecords } from './crm-records.ts'
import type { Faults } from './faults.ts'
import type { RateLimitSettings } from './rate-limiter.ts'
import { DEFAULT_SEED, type SeedData } from './seed.ts'
import type { ContactInput, DndSetting, LocationInput, ReceivedMessage, SandboxContact, SandboxLocation, SandboxStats, SentMessage, TokenAnswer, UserType } from './state.ts'
import type { ContactEmail, DeliveryError, DeliveryReportSettings, MessageWebhookLog, ReportedStatus } from './message-webhooks.ts'
import { contactDndPayload, deliverWebhook, webhookPayload, type WebhookDelivery, type WebhookRequest } from './webhooks.ts'

export type MessageWebhookSettings = Partial<DeliveryReportSettings> & { webhookUrl?: string | null }

/** One request the sandbox answered, with secrets masked, for contract checks. */
export interface RecordedExchange {
  method: string
  /** Path and query, as sent. */
  url: string
  headers: Record<string, string>
  /** The parsed body (form fields or JSON), undefined when none. */
  body: unknown
  response: { status: number, headers: Record<string, string>, body: unknown }
}

export interface SandboxSettingsPatch {
  accessTokenTtlSeconds?: number
  codeTtlSeconds?: number
  autoApprove?: boolean
  autoApproveLocationId?: string | null
  redirectUris?: string[]
}

export class SandboxControl {
  readonly recorded: RecordedExchange[] = []

  constructor (private readonly ctx: SandboxContext, private readonly seedData: SeedData) {
    this.seed(seedData)
  }

  get clientId (): string { return this.ctx.settings.clientId }
  get appId (): string { return this.ctx.settings.appId }

  addLocation (input: LocationInput): SandboxLocation {
    return this.ctx.state.addLocation(input)
  }

  updateLocation (id: string, patch: Partial<Pick<SandboxLocation, 'name' | 'active' | 'agencyInstall' | 'phoneNumbers'>>): SandboxLocation | undefined {
    return this.ctx.state.updateLocation(id, patch)
  }

  /**
   * The agency's "install to future locations" choice (GET /oauth/installedLocations reports it).
   * When on, a location added to the company afterwards has the app installed (`agencyInstall`).
   */
  setInstallToFutureLocations (companyId: string, value: boolean): void {
    this.ctx.state.setInstallToFutureLocations(companyId, value)
  }

  /** A new sub-account of `companyId`; the app is installed there when the agency installs to future locations. */
  addCompanyLocation (companyId: string, input: LocationInput): SandboxLocation {
    return this.ctx.state.addLocation({ ...input, companyId, agencyInstall: input.agencyInstall ?? this.ctx.state.installToFutureLocations(companyId) })
  }

  /** "Location is not active" mode: refreshes for it answer 400 and its refresh tokens stay good. */
  setLocationActive (id: string, active: boolean): void {
    this.ctx.state.updateLocation(id, { active })
  }

  locations (): SandboxLocation[] {
    return [...this.ctx.state.locations.values()]
  }

  addContact (input: ContactInput): SandboxContact {
    return this.ctx.state.addContact(input)
  }

  contacts (locationId?: string): SandboxContact[] {
    return locationId ? this.ctx.state.contactsOf(locationId) : [...this.ctx.state.contacts.values()]
  }

  /** Messages HighLevel was asked to send, in the order it accepted them. */
  messages (locationId?: string): SentMessage[] {
    return this.ctx.state.sentMessages.filter((m) => !locationId || m.locationId === locationId).map((m) => ({ ...m }))
  }

  stats (): SandboxStats {
    return { ...this.ctx.state.stats }
  }

  /** A code as the consent page would give for this location (skips the browser). */
  createAuthCode ({ locationId, redirectUri, scopes }: { locationId: string, redirectUri: string, scopes?: string[] }): string {
    const location = this.requireLocation(locationId)
    return this.ctx.state.createCode(this.ctx.state.grantFor(location, scopes ?? this.ctx.settings.defaultScopes), redirectUri)
  }

  /** Tokens as a code exchange would give, for tests that start after the connection. */
  issueTokens ({ locationId, scopes, userType }: { locationId: string, scopes?: string[], userType?: UserType }): TokenAnswer {
    const location = this.requireLocation(locationId)
    const grant = this.ctx.state.grantFor(location, scopes ?? this.ctx.settings.defaultScopes)
    if (userType === 'Company') Object.assign(grant, { userType: 'Company', locationId: null })
    if (userType === 'Location') Object.assign(grant, { userType: 'Location', locationId: location.id })
    return this.ctx.state.issueTokens(grant)
  }

  /** Revokes the location's access tokens (and refresh tokens when asked); returns how many. */
  revokeTokens (locationId: string, options: { refreshTokens?: boolean } = {}): number {
    return this.ctx.state.revoke(locationId, options)
  }

  /** Faults for one location, or for every request when `locationId` is omitted; replaces the previous set. */
  setFaults (faults: Faults, locationId?: string): void {
    this.ctx.faults.set(faults, locationId)
  }

  clearFaults (locationId?: string): void {
    this.ctx.faults.clear(locationId)
  }

  faults (): ReturnType<SandboxContext['faults']['list']> {
    return this.ctx.faults.list()
  }

  setRateLimit (settings: Partial<RateLimitSettings>): void {
    this.ctx.limiter.reset(settings)
  }

  rateLimit (): RateLimitSettings {
    return { ...this.ctx.limiter.settings }
  }

  configure (patch: SandboxSettingsPatch): void {
    const { state, settings } = this.ctx
    if (patch.accessTokenTtlSeconds !== undefined) state.settings.accessTokenTtlSeconds = patch.accessTokenTtlSeconds
    if (patch.codeTtlSeconds !== undefined) state.settings.codeTtlSeconds = patch.codeTtlSeconds
    if (patch.autoApprove !== undefined) settings.autoApprove = patch.autoApprove
    if (patch.autoApproveLocationId !== undefined) settings.autoApproveLocationId = patch.autoApproveLocationId
    if (patch.redirectUris !== undefined) settings.redirectUris = [...patch.redirectUris]
  }

  now (): number { return this.ctx.clock.now() }
  advanceClock (ms: number): void { this.ctx.clock.advance(ms) }
  freezeClock (): void { this.ctx.clock.freeze() }
  unfreezeClock (): void { this.ctx.clock.unfreeze() }

  webhookPublicKey (): { publicKey: string, pem: string } {
    return { publicKey: this.ctx.signer.publicKeyBase64, pem: this.ctx.signer.publicKeyPem }
  }

  /**
   * A contact's do-not-disturb, as a HighLevel user sets it: `dnd` for every channel, `sms` for
   * the SMS channel's status, `email` for the Email channel's. With `webhookUrl`, HighLevel's ContactDndUpdate for the change is
   * sent there, signed like every webhook.
   */
  async setContactDnd (contactId: string, change: { dnd?: boolean, sms?: DndSetting['status'], email?: DndSetting['status'] }, webhookUrl?: string): Promise<{ contact: SandboxContact, delivery?: WebhookDelivery }> {
    const contact = this.ctx.state.contacts.get(contactId)
    if (!contact) throw new Error(`No sandbox contact "${contactId}"`)
    const at = new Date(this.ctx.clock.now()).toISOString()
    if (change.dnd !== undefined) contact.dnd = change.dnd
    if (change.sms !== undefined) contact.dndSettings.SMS = { status: change.sms, message: `Updated through the sandbox at ${at}`, code: '103' }
    if (change.email !== undefined) contact.dndSettings.Email = { status: change.email, message: `Updated through the sandbox at ${at}`, code: '103' }
    contact.dateUpdated = at
    if (!webhookUrl) return { contact }
    return { contact, delivery: await this.sendWebhook({ url: webhookUrl, type: 'ContactDndUpdate', contactId }) }
  }

  /** Sends INSTALL / UNINSTALL (companyId defaults to the location's) or a contact's ContactDndUpdate to `url`, signed. */
  sendWebhook (request: WebhookRequest): Promise<WebhookDelivery> {
    if (request.type === 'ContactDndUpdate') {
      const contact = this.ctx.state.contacts.get(request.contactId ?? '')
      if (!contact) throw new Error('a ContactDndUpdate needs a known contactId')
      return deliverWebhook(this.ctx.signer, request, contactDndPayload(contact, this.ctx.clock.now()))
    }
    const location = request.locationId ? this.ctx.state.locations.get(request.locationId) : undefined
    const companyId = request.companyId ?? location?.companyId
    if (!companyId) throw new Error('sendWebhook needs a known locationId or a companyId')
    const payload = webhookPayload(request.type, {
      appId: this.ctx.settings.appId, locationId: request.locationId, companyId, now: this.ctx.clock.now(),
    })
    return deliverWebhook(this.ctx.signer, request, payload)
  }

  /**
   * Message webhooks: where they go (the app's webhook URL), and the delivery reports that follow
   * each send (`auto`, `delayMs`, `failureRatio`), and the share of them lost on purpose (`dropRatio`).
   */
  configureMessageWebhooks (patch: MessageWebhookSettings): MessageWebhookSettings {
    const events = this.ctx.messageWebhooks
    const { webhookUrl, ...reports } = patch
    if (webhookUrl !== undefined) events.webhookUrl = webhookUrl
    for (const [k, v] of Object.entries(reports)) if (v !== undefined) (events.settings as unknown as Record<string, unknown>)[k] = v
    return this.messageWebhookSettings()
  }

  messageWebhookSettings (): MessageWebhookSettings {
    return { webhookUrl: this.ctx.messageWebhooks.webhookUrl, ...this.ctx.messageWebhooks.settings }
  }

  /** Every message webhook sent, with the receiver's answer. */
  messageWebhookLog (): MessageWebhookLog[] {
    return [...this.ctx.messageWebhooks.log]
  }

  /** A contact replies by SMS: InboundMessage to the webhook URL (or `url`). */
  contactReplies (request: { contactId: string, body: string, url?: string }): Promise<{ message: ReceivedMessage, delivery: WebhookDelivery | { error: string } }> {
    return this.ctx.messageWebhooks.contactReplies(request.contactId, request.body, { url: request.url })
  }

  /** A contact replies by email: InboundMessage (messageType Email) to the webhook URL (or `url`). */
  contactEmails (request: ContactEmail & { contactId: string, url?: string }): Promise<{ message: ReceivedMessage, delivery: WebhookDelivery | { error: string } }> {
    return this.ctx.messageWebhooks.contactEmails(request.contactId, request, { url: request.url })
  }

  /** Reports a sent message's delivery now: OutboundMessage with `status` (and `error` when given). */
  reportDelivery (messageId: string, status: ReportedStatus, opts: { error?: DeliveryError, url?: string } = {}): Promise<WebhookDelivery | { error: string }> {
    return this.ctx.messageWebhooks.reportDelivery(messageId, status, opts)
  }

  /** Delivers a message webhook's payload again, as a new delivery (new webhookId and timestamp). */
  redeliverMessageWebhook (payload: Record<string, unknown>, url?: string): Promise<WebhookDelivery | { error: string }> {
    return this.ctx.messageWebhooks.redeliver(payload, url)
  }

  /** Messages contacts sent to a location. */
  received (locationId?: string): ReceivedMessage[] {
    return this.ctx.state.receivedMessages.filter((m) => !locationId || m.locationId === locationId).map((m) => ({ ...m }))
  }

  /** Back to the seeded locations and contacts; tokens, messages, counts, faults, recordings and clock cleared. */
  reset (): void {
    this.ctx.state.reset()
    this.ctx.faults.clear()
    this.ctx.limiter.reset()
    this.ctx.clock.reset()
    this.ctx.messageWebhooks.reset()
    this.recorded.length = 0
    this.seed(this.seedData)
  }

  /** Opportunities, pipelines, calendars and calendar events (add to them in a test). */
  get crm (): CrmRecords {
    return this.ctx.state.crm
  }

  /** Spends the rest of the location's daily budget: its next calls answer 429 until the sandbox's next UTC day. */
  exhaustDailyLimit (locationId: string): void {
    this.ctx.limiter.exhaustDaily(`${this.ctx.settings.clientId}:${locationId}`)
  }

  private seed (data: SeedData): void {
    for (const l of data.locations) this.ctx.state.addLocation(l)
    for (const c of data.contacts) this.ctx.state.addContact(c)
    const { crm } = this.ctx.state
    for (const p of data.pipelines ?? []) crm.addPipeline(p)
    for (const o of data.opportunities ?? []) crm.addOpportunity(o)
    for (const c of data.calendars ?? []) crm.addCalendar(c)
    for (const e of data.events ?? []) crm.addEvent(e)
  }

  private requireLocation (id: string): SandboxLocation {
    const location = this.ctx.state.locations.get(id)
    if (!location) throw new Error(`No sandbox location "${id}"`)
    return location
  }
}

export { DEFAULT_SEED }
