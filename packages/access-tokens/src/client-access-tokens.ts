/**
 * Minting, listing, revoking and checking client access tokens. A token reads
 * `gct_<id: 32 hex><secret: 43 base64url>`: the prefix makes a leaked one recognisable (secret
 * scanners, logs), the id makes checking it one read by primary key, and the secret's 256 random
 * bits are stored only as an HMAC keyed with a server secret, so neither a copy of the table nor
 * write access to it yields or forges a token. Every check reads PostgreSQL: a revoked token is
 * refused by every api replica from the next request on.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { ClientAccessTokenRow, ClientAccessTokensRepository } from '@ghl-connect/db'
import { badRequest, notFound, unauthorized } from '@ghl-connect/errors'
import { sameDigest } from '@ghl-connect/secrets'
import { isScope, parseScopes, type Scope } from './scopes.ts'

export const ACCESS_TOKEN_PREFIX = 'gct_'
const TOKEN_FORMAT = /^gct_([0-9a-f]{32})([A-Za-z0-9_-]{43})$/

export const DEFAULT_LIFETIME_SECONDS = 90 * 86_400
export const NAME_MAX_LENGTH = 100
/** Printable (no C0 or C1 control character), so a name is safe in a log line, a terminal and a page. */
export const NAME_PATTERN = '^[^\\x00-\\x1F\\x7F-\\x9F]+$'
const NAME_FORMAT = new RegExp(NAME_PATTERN)
/** `lastUsedAt` is written at most this often per token: a request costs a read, not a write. */
const TOUCH_EVERY_MS = 60_000

export interface AccessTokenView {
  id: string
  clientId: string
  name: string
  scopes: Scope[]
  createdAt: Date
  expiresAt: Date
  lastUsedAt: Date | null
}

/** A token that passed the check: what the api lets it do. */
export interface VerifiedAccessToken {
  id: string
  clientId: string
  name: string
  scopes: ReadonlySet<Scope>
}

export interface NewAccessToken {
  clientId: string
  name: string
  scopes?: readonly string[]
  expiresInSeconds?: number
}

export interface AccessTokensOptions {
  /** Keys the stored hashes (AccessTokensConfig.hashSecret). */
  hashSecret: string
  maxLifetimeSeconds: number
}

/** Whether a bearer credential is meant as a client access token (rather than an API key). */
export const isAccessTokenShaped = (credential: string): boolean => credential.startsWith(ACCESS_TOKEN_PREFIX)

const viewOf = (row: ClientAccessTokenRow): AccessTokenView => ({
  id: row.id, clientId: row.clientId, name: row.name, scopes: row.scopes.filter(isScope), createdAt: row.createdAt, expiresAt: row.expiresAt, lastUsedAt: row.lastUsedAt,
})

const INVALID_MESSAGE = 'The access token is not valid (revoked, or not one we issued); ask the CRM for a new one.'

export class ClientAccessTokens {
  constructor (private readonly repository: ClientAccessTokensRepository, private readonly opts: AccessTokensOptions,
    private readonly now: () => number = Date.now) {}

  /** The token, to be shown once, and its view. */
  async create (input: NewAccessToken): Promise<{ token: string, accessToken: AccessTokenView }> {
    const name = input.name.trim()
    if (name.length === 0 || name.length > NAME_MAX_LENGTH || !NAME_FORMAT.test(name)) {
      throw badRequest('invalid_token_name', `Name the token (1 to ${NAME_MAX_LENGTH} printable characters), e.g. "support assistant": the list and the logs show it.`)
    }
    const scopes = parseScopes(input.scopes)
    const lifetime = input.expiresInSeconds ?? Math.min(DEFAULT_LIFETIME_SECONDS, this.opts.maxLifetimeSeconds)
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > this.opts.maxLifetimeSeconds) {
      throw badRequest('invalid_token_lifetime',
        `expiresInSeconds must be a whole number from 1 to ${this.opts.maxLifetimeSeconds} (CLIENT_TOKEN_MAX_LIFETIME_DAYS); leave it out for ${Math.min(DEFAULT_LIFETIME_SECONDS, this.opts.maxLifetimeSeconds) / 86_400} days.`)
    }
    const id = randomUUID()
    const secret = randomBytes(32).toString('base64url')
    const row = await this.repository.insert({
      id, clientId: input.clientId, name, scopes, secretHash: this.hash(id, secret).toString('hex'), expiresAt: new Date(this.now() + lifetime * 1000),
    })
    return { token: `${ACCESS_TOKEN_PREFIX}${id.replaceAll('-', '')}${secret}`, accessToken: viewOf(row) }
  }

  async list (clientId: string): Promise<AccessTokenView[]> {
    return (await this.repository.listActive(clientId)).map(viewOf)
  }

  /** Refused from the next request on, by every replica (each check reads the row). */
  async revoke (clientId: string, id: string): Promise<void> {
    if (!await this.repository.revoke(clientId, id, new Date(this.now()))) {
      throw notFound('access_token_not_found', `Client "${clientId}" has no access token with id ${id}; list them with GET /api/clients/${encodeURIComponent(clientId)}/access-tokens or \`pnpm ghl tokens list ${clientId}\`.`)
    }
  }

  /** The token's grant, or 401: unknown, revoked or wrong secret alike, expired said so. */
  async verify (presented: string): Promise<VerifiedAccessToken> {
    const match = TOKEN_FORMAT.exec(presented)
    if (!match) throw unauthorized('invalid_access_token', INVALID_MESSAGE)
    const hex = match[1]!
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    const row = await this.repository.findById(id)
    const stored = row ? Buffer.from(row.secretHash, 'hex') : null
    const presentedHash = this.hash(id, match[2]!)
    if (!row || !stored || stored.length !== presentedHash.length || !sameDigest(stored, presentedHash) || row.revokedAt !== null) {
      throw unauthorized('invalid_access_token', INVALID_MESSAGE)
    }
    const now = this.now()
    if (row.expiresAt.getTime() <= now) {
      throw unauthorized('access_token_expired', `The access token "${row.name}" expired at ${row.expiresAt.toISOString()}; ask the CRM for a new one.`)
    }
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() >= TOUCH_EVERY_MS) await this.repository.touch(id, new Date(now))
    return { id, clientId: row.clientId, name: row.name, scopes: new Set(row.scopes.filter(isScope)) }
  }

  private hash (id: string, secret: string): Buffer {
    return createHmac('sha256', this.opts.hashSecret).update(`client-access-token:${id}:${secret}`).digest()
  }
}
