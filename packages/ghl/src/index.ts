export { FAMILY_VERSIONS, LOCATION_NEEDS, LOCATION_NEED_ERRATA, locationNeedOf, locationNeedPatterns, PROXY_FAMILIES, proxyFamilyOf, type LocationNeed, type ProxyFamily } from './proxy-paths.ts'
export { GhlClient, type GhlClientOptions } from './client.ts'
export type { ContactsClient } from './contacts.ts'
export type { ConversationsClient } from './conversations.ts'
export type { LocationsClient } from './locations.ts'
export type { MessagesClient } from './messages.ts'
export type { OAuthClient } from './oauth.ts'
export type { ForwardAnswer, ForwardCall } from './transport.ts'
export { GHL_VERSIONS } from './versions.ts'
export { GhlError, isGhlError, classifyAnswer, type GhlErrorKind, type GhlErrorDetails } from './errors.ts'
export { parseRateLimit, retryAfterMs, type RateLimit, type ResponseHeaders } from './rate-limit.ts'
export type {
  InstalledLocation, InstalledLocationsResult,
  ContactSearchResult, ConversationMessagesPage, ConversationSearchResult, ExportMessagesResult, GhlAnswer, GhlContact,
  GhlConversation, GhlEmailMessage, GhlLocation, GhlMessage, LocationTokenResponse,
  MessageChannel, SendMessageResult, TokenResponse, UpsertContactResult, UserType,
} from './types.ts'
export * from './dnd.ts'
