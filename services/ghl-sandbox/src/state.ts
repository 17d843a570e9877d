/**
 * Everything the sandbox knows: locations, contacts, codes, tokens, the messages it was asked to
 * send and the counts tests assert on. Every check-and-spend below is synchronous, so two
 * requests racing for one refresh token are decided like HighLevel does: one wins.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Clock } from './clock.ts'
import { CrmRecords, type CrmSnapshot } from './crm-records.ts'
import { ghlId } from './ids.ts'

export type UserType = 'Location' | 'Company'

export interface SandboxLocation {
  id: string
  name: string
  companyId: string
  /** Installed by an agency: its consent grants a Company token instead of a Location one. */
  agencyInstall: boolean
  /** false = "Location is not active" (subscription paused): refresh is refused, the token survives. */
  active: boolean
  email: string
  phone: string
  timezone: string
  /** The numbers SMS can be sent from (E.164); the first is the default, used when a send names no fromNumber. */
  phoneNumbers: string[]
}

export type LocationInput = Partial<SandboxLocation> & { name: string }

export interface SandboxContact {
  id: string
  locationId: string
  name: string | null
  firstName: string | null
  lastName: string | null
  phone: string | null
  email: string | null
  dateAdded: string
  dateUpdated: string
  tags: string[]
  /** Do-not-disturb on every channel, as the contacts spec's `dnd`. */
  dnd: boolean
  /** Per channel, as the spec's DndSettingsSchema; a channel left out has none. */
  dndSettings: Partial<Record<DndChannel, DndSetting>>
}

export const DND_CHANNELS = ['Call', 'Email', 'SMS', 'WhatsApp', 'GMB', 'FB'] as const
export type DndChannel = (typeof DND_CHANNELS)[number]
export interface DndSetting { status: 'active' | 'inactive' | 'permanent', message: string, code: string }

/** Whether HighLevel refuses an SMS to the contact: DND overall or on the SMS channel (see README). */
export const smsRefused = (c: SandboxContact) => c.dnd || c.dndSettings.SMS?.status === 'active' || c.dndSettings.SMS?.status === 'permanent'

/** Whether HighLevel refuses an email to the contact: DND overall or on the Email channel (see README). */
export const emailRefused = (c: SandboxContact) => c.dnd || c.dndSettings.Email?.status === 'active' || c.dndSettings.Email?.status === 'permanent'

export type ContactInput = { locationId: string, id?: string, name?: string, firstName?: string, lastName?: string, phone?: string, email?: string }

export interface SentMessage {
  /** Order across the whole sandbox, from 1. */
  seq: number
  locationId: string
  contactId: string
  type: string
  body: string
  messageId: string
  conversationId: string
  toNumber: string | null
  fromNumber: string | null
  scheduledTimestamp: number | null
  sentAt: string
  /** Its delivery status as HighLevel reports it: `pending` when accepted, then what a delivery report said. */
  status: string
  /** When its status last changed (the export's updatedAt); absent until a delivery report. */
  statusAt?: string
  /** An email's own parts (type Email only); `body` is its HTML, or its text when no HTML was sent. */
  email?: SentEmail
}

export interface SentEmail {
  subject: string
  html: string | null
  text: string | null
  from: string | null
  to: string
  cc: string[]
  bcc: string[]
  attachments: string[]
  /** HighLevel's id of the email itself, also the thread's id for a first email. */
  emailMessageId: string
  threadId: string
}

/** What an email adds to a message, as HighLevel's InboundMessage of type Email carries it. */
export interface EmailHeaders { emailMessageId: string, threadId: string, from: string, to: string[], subject: string, attachments: string[] }

/** A contact's message to the location (`control.contactReplies`, `control.contactEmails`); an email has `email`. */
export type ReceivedMessage = Pick<SentMessage, 'locationId' | 'contactId' | 'type' | 'body' | 'messageId' | 'conversationId'> & { receivedAt: string, email?: EmailHeaders }

/** A conversation's messages in the order they happened. */
export type ThreadEntry = { direction: 'outbound', message: SentMessage } | { direction: 'inbound', message: ReceivedMessage }

export interface Grant {
  userType: UserType
  locationId: string | null
  companyId: string
  scopes: string[]
  userId: string
}

interface AuthCode extends Grant { redirectUri: string, expiresAt: number, used: boolean }
interface AccessToken extends Grant { expiresAt: number, revoked: boolean }
/** `issuedAt` absent in a state file written before it was kept: such a token never ages out. */
interface RefreshToken extends Grant { used: boolean, revoked: boolean, issuedAt?: number }

/** HighLevel's refresh token is valid for a year unused. */
export const REFRESH_TOKEN_TTL_MS = 365 * 24 * 3600_000

export interface SandboxStats {
  codeExchanges: number
  refreshes: number
  invalidGrants: number
  locationInactive: number
  locationTokens: number
  /** Location tokens minted while one minted earlier for the same location was still good: a mint twice. */
  locationTokensRepeated: number
  rateLimited: number
  /** Of `rateLimited`: refused against a company's limit (an agency token's calls). */
  companyRateLimited: number
  /** Refresh tokens refused because they went unused for a year (counted in `invalidGrants` too). */
  refreshTokensAgedOut: number
  messagesSent: number
  /** Sends taken whose answer an accept-then fault lost (reset or 502). */
  answersLost: number
  /** Export requests answered (asking whether a message went out). */
  messageExports: number
  /** Refreshes accepted whose answer was dropped by the `dropRefreshAnswerNext` fault (counted in `refreshes` too). */
  refreshAnswersDropped: number
  /** GET /conversations/messages/{id} answered (a message by id). */
  messageLookups: number
  /** GET /contacts/{contactId} answered. */
  contactReads: number
  /** Message webhooks not sent on purpose (`dropRatio`): HighLevel's lost deliveries. */
  messageWebhooksDropped: number
  /** The most API requests held at once by the `latencyMs` fault: how many calls clients keep open while HighLevel is slow. */
  mostHeldAtOnce: number
}

const emptyStats = (): SandboxStats => ({
  codeExchanges: 0, refreshes: 0, invalidGrants: 0, locationInactive: 0, locationTokens: 0, locationTokensRepeated: 0, rateLimited: 0, companyRateLimited: 0, refreshTokensAgedOut: 0, messagesSent: 0, answersLost: 0, messageExports: 0, refreshAnswersDropped: 0,
  messageLookups: 0, contactReads: 0, messageWebhooksDropped: 0, mostHeldAtOnce: 0,
})

/** HighLevel's tokens are JWTs; shaped alike so redaction by pattern is exercised, signed by nobody. */
function jwtLike (claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, jti: randomUUID() })}.${randomBytes(32).toString('base64url')}`
}

export const digits = (phone: string): string => phone.replace(/\D/g, '')

export type TokenAnswer = Record<string, unknown> & { access_token: string }

export type Outcome<T> = { ok: true, value: T } | { ok: false, status: number, message: string | string[] }

const fail = (status: number, message: string | string[]): { ok: false, status: number, message: string | string[] } => ({ ok: false, status, message })

/** Everything `SandboxState` holds, as JSON (`state-file.ts` writes it; messages are kept once, in `thread`). */
export interface StateSnapshot {
  version: 1
  locations: SandboxLocation[]
  contacts: SandboxContact[]
  thread: ThreadEntry[]
  codes: Array<[string, AuthCode]>
  accessTokens: Array<[string, AccessToken]>
  refreshTokens: Array<[string, RefreshToken]>
  conversations: Array<[string, string]>
  futureInstalls: Array<[string, boolean]>
  crm: CrmSnapshot
  stats: SandboxStats
}

export const INVALID_REFRESH = 'Invalid grant: refresh token is invalid'
export const INVALID_CODE = 'Invalid grant: authorization code is invalid'
export const LOCATION_INACTIVE = 'Location is not active'

export class SandboxState {
  readonly locations = new Map<string, SandboxLocation>()
  readonly contacts = new Map<string, SandboxContact>()
  readonly sentMessages: SentMessage[] = []
  readonly receivedMessages: ReceivedMessage[] = []
  /** Every message of every conversation, in order (outbound and inbound). */
  readonly thread: ThreadEntry[] = []
  /** Opportunities, pipelines, calendars and their events. */
  readonly crm = new CrmRecords(() => this.clock.now())
  stats: SandboxStats = emptyStats()
  private readonly codes = new Map<string, AuthCode>()
  private readonly accessTokens = new Map<string, AccessToken>()
  private readonly refreshTokens = new Map<string, RefreshToken>()
  private readonly conversations = new Map<string, string>()
  private readonly futureInstalls = new Map<string, boolean>()
  /** When each location's last minted token expires (a mint before then is a mint twice). */
  private readonly mintedUntil = new Map<string, number>()

  constructor (
    private readonly clock: Clock,
    public settings: { accessTokenTtlSeconds: number, codeTtlSeconds: number },
  ) {}

  addLocation (input: LocationInput): SandboxLocation {
    const id = input.id ?? ghlId()
    const location: SandboxLocation = {
      id,
      name: input.name,
      companyId: input.companyId ?? 'sbxCompany0000000001',
      agencyInstall: input.agencyInstall ?? false,
      active: input.active ?? true,
      email: input.email ?? `office@${id.toLowerCase()}.example`,
      phone: input.phone ?? '+15550000000',
      timezone: input.timezone ?? 'America/Chicago',
      phoneNumbers: input.phoneNumbers ?? [input.phone ?? '+15550000000'],
    }
    this.locations.set(id, location)
    return location
  }

  updateLocation (id: string, patch: Partial<Omit<SandboxLocation, 'id'>>): SandboxLocation | undefined {
    const location = this.locations.get(id)
    if (!location) return undefined
    Object.assign(location, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)))
    return location
  }

  addContact (input: ContactInput): SandboxContact {
    const at = new Date(this.clock.now()).toISOString()
    const [first, ...rest] = (input.name ?? '').trim().split(/\s+/)
    const contact: SandboxContact = {
      id: input.id ?? ghlId(),
      locationId: input.locationId,
      name: input.name ?? ([input.firstName, input.lastName].filter(Boolean).join(' ') || null),
      firstName: input.firstName ?? (first || null),
      lastName: input.lastName ?? (rest.join(' ') || null),
      phone: input.phone ?? null,
      email: input.email?.toLowerCase() ?? null,
      dateAdded: at,
      dateUpdated: at,
      tags: [],
      dnd: false,
      dndSettings: {},
    }
    this.contacts.set(contact.id, contact)
    return contact
  }

  contactsOf (locationId: string): SandboxContact[] {
    return [...this.contacts.values()].filter((c) => c.locationId === locationId)
  }

  findByPhone (locationId: string, phone: string): SandboxContact | undefined {
    const wanted = digits(phone)
    return wanted ? this.contactsOf(locationId).find((c) => c.phone && digits(c.phone) === wanted) : undefined
  }

  findByEmail (locationId: string, email: string): SandboxContact | undefined {
    return this.contactsOf(locationId).find((c) => c.email === email.toLowerCase())
  }

  searchContacts (locationId: string, query: string): SandboxContact[] {
    const q = query.trim().toLowerCase()
    const qDigits = digits(q)
    return this.contactsOf(locationId).filter((c) => !q ||
      [c.name, c.firstName, c.lastName, c.email].some((v) => v?.toLowerCase().includes(q)) ||
      (qDigits.length >= 4 && c.phone !== null && digits(c.phone).includes(qDigits)))
  }

  recordMessage (input: Omit<SentMessage, 'seq' | 'messageId' | 'conversationId' | 'sentAt' | 'status'>): SentMessage {
    const message: SentMessage = {
      ...input,
      seq: this.sentMessages.length + 1,
      messageId: ghlId(),
      conversationId: this.conversationOf(input.contactId),
      sentAt: new Date(this.clock.now()).toISOString(),
      status: 'pending',
    }
    this.sentMessages.push(message)
    this.thread.push({ direction: 'outbound', message })
    this.stats.messagesSent++
    return message
  }

  recordReceived (input: Pick<ReceivedMessage, 'locationId' | 'contactId' | 'body' | 'email'>): ReceivedMessage {
    const message: ReceivedMessage = {
      ...input,
      type: input.email ? 'Email' : 'SMS',
      messageId: ghlId(),
      conversationId: this.conversationOf(input.contactId),
      receivedAt: new Date(this.clock.now()).toISOString(),
    }
    this.receivedMessages.push(message)
    this.thread.push({ direction: 'inbound', message })
    return message
  }

  /** A contact's conversation id, if it has one (HighLevel has one per contact here). */
  findConversation (contactId: string): string | undefined {
    return this.conversations.get(contactId)
  }

  /** The contact a conversation is with. */
  contactOfConversation (conversationId: string): SandboxContact | undefined {
    for (const [contactId, id] of this.conversations) if (id === conversationId) return this.contacts.get(contactId)
    return undefined
  }

  private conversationOf (contactId: string): string {
    let conversationId = this.conversations.get(contactId)
    if (!conversationId) {
      conversationId = ghlId()
      this.conversations.set(contactId, conversationId)
    }
    return conversationId
  }

  /** What the consent page grants for a location: a Company grant when an agency installed it. */
  grantFor (location: SandboxLocation, scopes: string[]): Grant {
    return {
      userType: location.agencyInstall ? 'Company' : 'Location',
      locationId: location.agencyInstall ? null : location.id,
      companyId: location.companyId,
      scopes,
      userId: 'sbxUser0000000000001',
    }
  }

  createCode (grant: Grant, redirectUri: string): string {
    const code = randomBytes(20).toString('hex')
    this.codes.set(code, { ...grant, redirectUri, expiresAt: this.clock.now() + this.settings.codeTtlSeconds * 1000, used: false })
    return code
  }

  /** The location a code or refresh token belongs to, without spending it (for per-location faults). */
  locationOfGrant (kind: 'code' | 'refresh', value: string): string | undefined {
    const grant = kind === 'code' ? this.codes.get(value) : this.refreshTokens.get(value)
    if (!grant) return undefined
    return grant.locationId ?? this.approvedLocations(grant.companyId, grant)[0]
  }

  exchangeCode (code: string, redirectUri: string | undefined): Outcome<TokenAnswer> {
    const grant = this.codes.get(code)
    if (!grant || grant.used || grant.expiresAt <= this.clock.now()) {
      this.stats.invalidGrants++
      return fail(400, INVALID_CODE)
    }
    if (redirectUri !== undefined && redirectUri !== grant.redirectUri) {
      return fail(400, 'redirect_uri does not match the redirect URI this code was issued for')
    }
    grant.used = true
    this.stats.codeExchanges++
    return { ok: true, value: this.issue(grant, { withRefresh: true }) }
  }

  refresh (refreshToken: string): Outcome<TokenAnswer> {
    const grant = this.refreshTokens.get(refreshToken)
    if (!grant || grant.used || grant.revoked) {
      this.stats.invalidGrants++
      return fail(400, INVALID_REFRESH)
    }
    if (grant.issuedAt !== undefined && this.clock.now() - grant.issuedAt > REFRESH_TOKEN_TTL_MS) {
      this.stats.invalidGrants++
      this.stats.refreshTokensAgedOut++
      return fail(400, INVALID_REFRESH)
    }
    const location = grant.locationId ? this.locations.get(grant.locationId) : undefined
    if (location && !location.active) {
      // HighLevel keeps the refresh token alive while the location is paused.
      this.stats.locationInactive++
      return fail(400, LOCATION_INACTIVE)
    }
    grant.used = true
    this.stats.refreshes++
    return { ok: true, value: this.issue(grant, { withRefresh: true }) }
  }

  /** An agency token mints a token for one of its company's locations (no refresh token). */
  locationToken (agency: Grant, locationId: string, companyId: string): Outcome<TokenAnswer> {
    const location = this.locations.get(locationId)
    if (!location || location.companyId !== agency.companyId || companyId !== agency.companyId) {
      return fail(403, 'The token does not have access to this location')
    }
    this.stats.locationTokens++
    const now = this.clock.now()
    if ((this.mintedUntil.get(locationId) ?? 0) > now) this.stats.locationTokensRepeated++
    this.mintedUntil.set(locationId, now + this.settings.accessTokenTtlSeconds * 1000)
    const grant: Grant = { ...agency, userType: 'Location', locationId, scopes: agency.scopes.filter((s) => !s.startsWith('oauth.')) }
    const { refresh_token: _, approvedLocations: __, isBulkInstallation: ___, userType: ____, companyId: _____, ...answer } = this.issue(grant, { withRefresh: false })
    return { ok: true, value: answer as TokenAnswer }
  }

  /**
   * GET /oauth/installedLocations: the company's locations, `isInstalled` when the app is
   * installed there (an agency install). `ourApp` false (another app's id) lists nothing installed.
   */
  installedLocations (companyId: string, ourApp: boolean, q: { skip: number, limit: number, query?: string, installed?: boolean, locationId?: string }): {
    locations: Array<{ _id: string, name: string, address: string, isInstalled: boolean }>, count: number, installToFutureLocations: boolean
  } {
    const needle = q.query?.trim().toLowerCase()
    const all = [...this.locations.values()]
      .filter((l) => l.companyId === companyId)
      .map((l) => ({ _id: l.id, name: l.name, address: `${l.name} address`, isInstalled: ourApp && l.agencyInstall }))
      .filter((l) => (q.installed === undefined || l.isInstalled === q.installed) && (!needle || l.name.toLowerCase().includes(needle)) && (!q.locationId || l._id === q.locationId))
    return { locations: all.slice(q.skip, q.skip + q.limit), count: all.length, installToFutureLocations: this.installToFutureLocations(companyId) }
  }

  /** Whether the agency chose to install the app on every location it creates from now on. */
  installToFutureLocations (companyId: string): boolean {
    return this.futureInstalls.get(companyId) ?? false
  }

  setInstallToFutureLocations (companyId: string, value: boolean): void {
    this.futureInstalls.set(companyId, value)
  }

  /** Tokens straight away, for tests that start after the consent (the same shape /oauth/token answers). */
  issueTokens (grant: Grant): TokenAnswer {
    return this.issue(grant, { withRefresh: true })
  }

  accessTokenGrant (token: string): { grant: AccessToken } | { problem: 'unknown' | 'expired' | 'revoked' } {
    const grant = this.accessTokens.get(token)
    if (!grant) return { problem: 'unknown' }
    if (grant.revoked) return { problem: 'revoked' }
    if (grant.expiresAt <= this.clock.now()) return { problem: 'expired' }
    return { grant }
  }

  /** Revokes every access token of the location (and its refresh tokens when asked); returns how many. */
  revoke (locationId: string, { refreshTokens = false } = {}): number {
    let n = 0
    for (const t of this.accessTokens.values()) if (t.locationId === locationId && !t.revoked) { t.revoked = true; n++ }
    if (refreshTokens) for (const t of this.refreshTokens.values()) if (t.locationId === locationId && !t.revoked) { t.revoked = true; n++ }
    return n
  }

  reset (): void {
    this.locations.clear()
    this.contacts.clear()
    this.sentMessages.length = 0
    this.receivedMessages.length = 0
    this.thread.length = 0
    this.codes.clear()
    this.accessTokens.clear()
    this.refreshTokens.clear()
    this.conversations.clear()
    this.crm.clear()
    this.futureInstalls.clear()
    this.mintedUntil.clear()
    this.stats = emptyStats()
  }

  snapshot (): StateSnapshot {
    return {
      version: 1,
      locations: [...this.locations.values()],
      contacts: [...this.contacts.values()],
      thread: this.thread,
      codes: [...this.codes],
      accessTokens: [...this.accessTokens],
      refreshTokens: [...this.refreshTokens],
      conversations: [...this.conversations],
      futureInstalls: [...this.futureInstalls],
      crm: this.crm.snapshot(),
      stats: this.stats,
    }
  }

  /** Replaces everything with a snapshot's content (the seed included: the snapshot has its own). */
  restore (s: StateSnapshot): void {
    this.reset()
    for (const l of s.locations) this.locations.set(l.id, l)
    for (const c of s.contacts) this.contacts.set(c.id, c)
    for (const entry of s.thread) {
      this.thread.push(entry)
      if (entry.direction === 'outbound') this.sentMessages.push(entry.message)
      else this.receivedMessages.push(entry.message)
    }
    for (const [k, v] of s.codes) this.codes.set(k, v)
    for (const [k, v] of s.accessTokens) this.accessTokens.set(k, v)
    for (const [k, v] of s.refreshTokens) this.refreshTokens.set(k, v)
    for (const [k, v] of s.conversations) this.conversations.set(k, v)
    for (const [k, v] of s.futureInstalls) this.futureInstalls.set(k, v)
    this.crm.restore(s.crm)
    this.stats = { ...emptyStats(), ...s.stats }
  }

  private approvedLocations (companyId: string, grant: { userType: UserType }): string[] {
    if (grant.userType !== 'Company') return []
    return [...this.locations.values()].filter((l) => l.companyId === companyId && l.agencyInstall).map((l) => l.id)
  }

  private issue (grant: Grant, { withRefresh }: { withRefresh: boolean }): TokenAnswer {
    const now = this.clock.now()
    const ttl = this.settings.accessTokenTtlSeconds
    const base: Grant = { userType: grant.userType, locationId: grant.locationId, companyId: grant.companyId, scopes: [...grant.scopes], userId: grant.userId }
    const claims = { authClass: grant.userType, authClassId: grant.locationId ?? grant.companyId, iat: Math.floor(now / 1000) }
    const accessToken = jwtLike({ ...claims, exp: Math.floor(now / 1000) + ttl })
    this.accessTokens.set(accessToken, { ...base, expiresAt: now + ttl * 1000, revoked: false })
    const answer: TokenAnswer = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ttl,
      scope: grant.scopes.join(' '),
      userType: grant.userType,
      companyId: grant.companyId,
      userId: grant.userId,
      isBulkInstallation: false,
    }
    if (grant.locationId) answer.locationId = grant.locationId
    else {
      answer.approvedLocations = this.approvedLocations(grant.companyId, grant)
      answer.isBulkInstallation = (answer.approvedLocations as string[]).length > 1
    }
    if (withRefresh) {
      const refreshToken = jwtLike({ ...claims, refresh: true })
      this.refreshTokens.set(refreshToken, { ...base, used: false, revoked: false, issuedAt: now })
      answer.refresh_token = refreshToken
    }
    return answer
  }
}
