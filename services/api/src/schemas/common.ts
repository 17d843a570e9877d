import { Type, type Static } from 'typebox'
import { CLIENT_ID_PATTERN, MAX_CLIENT_ID_LENGTH } from '@ghl-connect/connect-links'

/** The CRM's opaque client id: visible ASCII without spaces or slashes, so it is safe in paths, keys and job ids. */
export const ClientId = Type.String({ minLength: 1, maxLength: MAX_CLIENT_ID_LENGTH, pattern: CLIENT_ID_PATTERN, description: "The CRM's id for its client" })
export const ClientIdParams = Type.Object({ clientId: ClientId }, { additionalProperties: false })
export type ClientIdParams = Static<typeof ClientIdParams>

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'A stable code to switch on' }),
  message: Type.String({ description: 'A sentence a person can act on' }),
})

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBody])) as Record<number, typeof ErrorBody>

/**
 * A route behind the API key answers these besides its own: a malformed request (400), no valid
 * key (401), a client access token outside its scopes or its client (403), the key's or token's
 * rate limit spent (429, with Retry-After); with a body, one too large (413).
 */
export const machineErrorResponses = (...statuses: number[]) =>
  errorResponses(...new Set([400, 401, 403, 429, ...statuses]))

export const DateTime = Type.String({ format: 'date-time' })
