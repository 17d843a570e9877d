import { Type, type Static } from 'typebox'
import { NAME_MAX_LENGTH, NAME_PATTERN, SCOPES } from '@ghl-connect/access-tokens'
import { ClientId, DateTime } from './common.ts'

const Scopes = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: 32, description: `What the token may do: ${SCOPES.join(', ')}. Left out: every scope but proxy`,
})

export const AccessTokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, pattern: NAME_PATTERN, description: 'Who uses it, e.g. "support assistant": the list and the audit log lines show it' }),
  scopes: Type.Optional(Scopes),
  expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'Lifetime; default 90 days, at most CLIENT_TOKEN_MAX_LIFETIME_DAYS' })),
}, { additionalProperties: false })
export type AccessTokenBody = Static<typeof AccessTokenBody>

export const AccessTokenParams = Type.Object({
  clientId: ClientId,
  id: Type.String({ format: 'uuid', description: 'The token\'s id, as its creation answered' }),
}, { additionalProperties: false })

const AccessTokenFields = {
  id: Type.String({ format: 'uuid' }),
  clientId: ClientId,
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  expiresAt: DateTime,
}

export const AccessTokenCreated = Type.Object({
  ...AccessTokenFields,
  token: Type.String({ description: 'The token, shown this once: only a keyed hash of it is kept. Send it as "Authorization: Bearer <token>"' }),
})

export const AccessTokenList = Type.Object({
  accessTokens: Type.Array(Type.Object({
    ...AccessTokenFields,
    createdAt: DateTime,
    lastUsedAt: Type.Union([DateTime, Type.Null()], { description: 'Within a minute; null until first used' }),
  }), { description: 'The client\'s tokens not revoked, oldest first (expired ones too)' }),
})
