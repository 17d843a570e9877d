export { GhlClient, GHL_VERSIONS, type GhlClientOptions } from './client.ts'
export { GhlError, isGhlError, classifyAnswer, type GhlErrorKind, type GhlErrorDetails } from './errors.ts'
export { parseRateLimit, retryAfterMs, type RateLimit } from './rate-limit.ts'
export type {
  InstalledLocation, InstalledLocationsResult,
  ContactSearchResult, ExportMessagesResult, GhlAnswer, GhlContact, GhlLocation, GhlMessage, LocationTokenResponse,
  MessageChannel, SendMessageResult, TokenResponse, UpsertContactResult, UserType,
} from './types.ts'
export * from './dnd.ts'
