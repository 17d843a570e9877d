/**
 * An integration row as stored (tokens as ciphertext) and as the rest of the system sees it
 * (plaintext): the one place that seals, opens and erases a row's tokens. Each token is sealed
 * bound to its row and column, so a ciphertext copied to another row or column does not open.
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { ghlIntegrations, type IntegrationRow, type IntegrationStatus } from '../../schema/index.ts'
import type { TokenCipher } from '../../token-cipher.ts'

/** An integration as the rest of the system sees it: tokens in plaintext, never ciphertext. */
export interface Integration extends Omit<IntegrationRow, 'accessToken' | 'refreshToken'> {
  accessToken: string | null
  refreshToken: string | null
}

export interface NewConnection {
  locationId: string
  companyId?: string | null
  locationName?: string | null
  userType: string
  scopes: string[]
  accessToken: string
  refreshToken: string | null
  expiresAt: Date
}

export type TokenColumn = 'access_token' | 'refresh_token'
export const tokenContext = (id: string, column: TokenColumn) => `ghl_integrations/${id}/${column}`

export class SealedRows {
  constructor (readonly cipher: TokenCipher) {}

  seal (clientId: string, c: NewConnection) {
    const id = randomUUID()
    return {
      id,
      clientId,
      locationId: c.locationId,
      companyId: c.companyId ?? null,
      locationName: c.locationName ?? null,
      userType: c.userType,
      scopes: c.scopes,
      accessToken: this.sealToken(id, 'access_token', c.accessToken),
      refreshToken: c.refreshToken ? this.sealToken(id, 'refresh_token', c.refreshToken) : null,
      expiresAt: c.expiresAt,
      lastSyncedAt: c.locationName ? new Date() : null,
    }
  }

  sealToken (id: string, column: TokenColumn, token: string): string {
    return this.cipher.encrypt(token, tokenContext(id, column))
  }

  open (row: IntegrationRow): Integration {
    return {
      ...row,
      accessToken: row.accessToken === null ? null : this.cipher.decrypt(row.accessToken, tokenContext(row.id, 'access_token')),
      refreshToken: row.refreshToken === null ? null : this.cipher.decrypt(row.refreshToken, tokenContext(row.id, 'refresh_token')),
    }
  }

  /** The update that ends a connection: inactive, tokens erased, version bumped so a refresh in flight loses its write. */
  deactivation (status: IntegrationStatus) {
    return {
      accessToken: null,
      refreshToken: null,
      isActive: false,
      status,
      tokenVersion: sql`${ghlIntegrations.tokenVersion} + 1`,
      updatedAt: new Date(),
    }
  }
}
