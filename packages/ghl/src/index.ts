export { FAMILY_VERSIONS, LOCATION_NEEDS, LOCATION_NEED_ERRATA, locationNeedOf, locationNeedPatterns, PROXY_FAMILIES, proxyFamilyOf, type LocationNeed, type ProxyFamily } from './proxy-paths.ts'
export { GhlClient, GHL_VERSIONS, type ForwardAnswer, type ForwardCall, type GhlClientOptions } from './client.ts'
export { GhlError, isGhlError, classifyAnswer, type GhlErrorKind, type GhlErrorDetails } from './errors.ts'
export { parseRateLimit, retryAfterMs, type RateLimit, type ResponseHeaders } from './rate-limit.ts'
export type {
  InstalledLocation, InstalledLocationsResult,
  ContactSearchResult, ConversationMessagesPage, ConversationSearchResult, ExportMessagesResult, GhlAnswer, GhlContact,
  GhlConversation, GhlLocation, GhlMessage, LocationTokenResponse,
  MessageChannel, SendMessageResult, TokenResponse, UpsertContactResult, UserType,
} from './types.ts'
export * from './dnd.ts'
