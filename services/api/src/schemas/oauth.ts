import { Type, type Static } from 'typebox'
import { ClientId, DateTime } from './common.ts'
import { MAX_LINK_TTL_SECONDS } from '@ghl-connect/connect-links'

export const ConnectLinkBody = Type.Object({
  clientId: ClientId,
  returnUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Where the browser goes after connecting; must be on CRM_ORIGIN' })),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_LINK_TTL_SECONDS, description: 'Link lifetime; default 600 (10 minutes), up to 7 days for links sent by e-mail' })),
}, { additionalProperties: false })
export type ConnectLinkBody = Static<typeof ConnectLinkBody>

export const ConnectLinkReply = Type.Object({
  url: Type.String({ description: 'Signed link that starts the HighLevel authorization; it works once' }),
  connectPageUrl: Type.String({ description: 'Signed link to the Connect GoHighLevel page with status; it connects once, then shows the status only' }),
  expiresAt: DateTime,
})

export const LinkQuery = Type.Object({
  clientId: Type.Optional(Type.String({ maxLength: 256 })),
  exp: Type.Optional(Type.String({ maxLength: 20 })),
  sig: Type.Optional(Type.String({ maxLength: 128 })),
  returnUrl: Type.Optional(Type.String({ maxLength: 2048 })),
  nonce: Type.Optional(Type.String({ maxLength: 64 })),
  page: Type.Optional(Type.String({ maxLength: 64 })),
})
export type LinkQuery = Static<typeof LinkQuery>

export const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  state: Type.Optional(Type.String({ maxLength: 256 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 })),
})
export type CallbackQuery = Static<typeof CallbackQuery>

export const IntegrationView = Type.Object({
  locationId: Type.String(),
  locationName: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String()),
  expiresAt: DateTime,
  needsRefresh: Type.Boolean(),
  status: Type.String(),
  connectedAt: DateTime,
  lastRefreshedAt: Type.Union([DateTime, Type.Null()]),
})

export const StatusReply = Type.Object({
  connected: Type.Boolean(),
  integration: Type.Union([IntegrationView, Type.Null()]),
})

export const TokenReply = Type.Object({
  accessToken: Type.String(),
  locationId: Type.String(),
  expiresAt: DateTime,
})

export const ClaimBody = Type.Object({
  clientId: ClientId,
  locationId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
  claimCode: Type.String({ minLength: 1, maxLength: 32, description: 'The one-time code our page showed the installer after the marketplace install (e.g. ABCDE-FGHJK; case, spaces and dashes do not matter)' }),
}, { additionalProperties: false })
export type ClaimBody = Static<typeof ClaimBody>

export const AgencyPickBody = Type.Object({
  pick: Type.String({ minLength: 1, maxLength: 64 }),
  locationId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
}, { additionalProperties: false })
export type AgencyPickBody = Static<typeof AgencyPickBody>

export const WebhookReply = Type.Object({ status: Type.String() })
