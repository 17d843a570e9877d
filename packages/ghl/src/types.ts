/**
 * The shapes HighLevel answers, as far as this project reads them (HighLevel's names, snake_case
 * for the token endpoint). Fields HighLevel may leave out are optional; the rest stay available
 * through the index signature without being promised.
 */
import type { RateLimit } from './rate-limit.ts'

export type UserType = 'Location' | 'Company'

export interface GhlAnswer<T> {
  data: T
  status: number
  /** `null` where HighLevel sends no rate-limit headers (the token endpoints). */
  rateLimit: RateLimit | null
}

export interface TokenResponse {
  access_token: string
  token_type?: string
  expires_in?: number
  /** Absent on some answers: then the stored refresh token stays valid. */
  refresh_token?: string
  /** Space-separated. */
  scope?: string
  userType?: UserType
  /** Sub-account tokens only. */
  locationId?: string
  companyId?: string
  userId?: string
  planId?: string
  approvedLocations?: string[]
  isBulkInstallation?: boolean
  [field: string]: unknown
}

export interface LocationTokenResponse {
  access_token: string
  token_type?: string
  expires_in?: number
  scope?: string
  locationId?: string
  userId?: string
  planId?: string
  [field: string]: unknown
}

/** One entry of GET /oauth/installedLocations (the spec names the location id `_id`). */
export interface InstalledLocation {
  _id: string
  name: string
  address?: string
  isInstalled?: boolean
  [field: string]: unknown
}

export interface InstalledLocationsResult {
  locations: InstalledLocation[]
  count?: number
  installToFutureLocations?: boolean
}

export interface GhlLocation {
  id: string
  name: string
  companyId?: string
  email?: string
  phone?: string
  timezone?: string
  [field: string]: unknown
}

export interface GhlContact {
  id: string
  locationId?: string
  name?: string | null
  firstName?: string | null
  lastName?: string | null
  phone?: string | null
  email?: string | null
  /** Do-not-disturb on every channel (contacts spec: GetContectByIdSchema). */
  dnd?: boolean
  /** Per channel (`SMS`, `Email`, `Call`, ...): `status` active, inactive or permanent (DndSettingsSchema). */
  dndSettings?: Record<string, { status?: string, message?: string, code?: string } | undefined>
  [field: string]: unknown
}

export interface ContactSearchResult {
  contacts: GhlContact[]
  total?: number
}

export interface UpsertContactResult {
  new: boolean
  contact: GhlContact
}

export interface SendMessageResult {
  conversationId: string
  messageId: string
  msg?: string
  status?: string
  [field: string]: unknown
}

/** A message as HighLevel lists it (export, a conversation's messages). */
export interface GhlMessage {
  id: string
  /** TYPE_SMS, TYPE_EMAIL, ... */
  messageType?: string
  locationId?: string
  contactId?: string
  conversationId?: string
  /** ISO 8601. */
  dateAdded?: string
  body?: string
  direction?: 'inbound' | 'outbound'
  status?: string
  [field: string]: unknown
}

/** An email as HighLevel's get-email-by-id answers it (GetEmailMessageResponseDto); only what is read here is promised. */
export interface GhlEmailMessage {
  id: string
  threadId?: string
  subject?: string
  from?: string
  to?: string[]
  body?: string
  direction?: 'inbound' | 'outbound'
  [field: string]: unknown
}

export interface ExportMessagesResult {
  messages: GhlMessage[]
  /** Absent or null on the last page. */
  nextCursor?: string | null
  total?: number
}

export type MessageChannel = 'Call' | 'SMS' | 'Email' | 'WhatsApp' | 'Instagram' | 'Facebook'

/** A conversation as HighLevel's search lists it (ConversationSchema); only what is read here is promised. */
export interface GhlConversation {
  id: string
  contactId?: string
  locationId?: string
  /** Milliseconds since the epoch. */
  lastMessageDate?: number
  [field: string]: unknown
}

export interface ConversationSearchResult {
  conversations: GhlConversation[]
  total?: number
}

/** One page of a conversation's messages: pass `lastMessageId` back for the next page while `nextPage`. */
export interface ConversationMessagesPage {
  messages: GhlMessage[]
  lastMessageId: string | null
  nextPage: boolean
}
