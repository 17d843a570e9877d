/**
 * "Can this client send now, and with which token?" One rule, read by the api's intake, the
 * worker's credentials and the TokenService, and the SQL condition of the intake's one-round-trip
 * fast path beside it, so the two cannot drift (packages/db/test/sending.test.ts checks that they
 * agree on every combination against PostgreSQL).
 */
import { sql, type SQL } from 'drizzle-orm'
import type { Integration } from '../repositories/integrations/index.ts'
import { ghlIntegrations } from '../schema/index.ts'

/** What the rule reads of an integration. */
export type SendingFacts = Pick<Integration, 'isActive' | 'accessToken' | 'status'>

export type SendingRefusal = 'not_connected' | 'needs_reauth'

export type SendingAccess<I extends SendingFacts = Integration> =
  | { kind: 'oauth', integration: I }
  /** A client that never connected, while the seed's migration phases send with the legacy Private Integration Token. */
  | { kind: 'legacy_pit' }
  | { kind: 'refused', code: SendingRefusal }

/**
 * `integration` is what `IntegrationsRepository.findForSending` reads: the client's active
 * integration, else its newest past one; null only when the client never connected. The legacy
 * PIT stands in only for a client that never connected: one whose connection was disconnected,
 * uninstalled or replaced and ended (an inactive row), or is broken, must reconnect, and sending
 * with another token (another sub-account's) would hide that. A connection HighLevel revoked
 * (needs_reauth) is refused as such, active or not.
 */
export function sendingAccess<I extends SendingFacts> (integration: I | null, opts: { legacyPitFallback: false }): Exclude<SendingAccess<I>, { kind: 'legacy_pit' }>
export function sendingAccess<I extends SendingFacts> (integration: I | null, opts: { legacyPitFallback: boolean }): SendingAccess<I>
export function sendingAccess<I extends SendingFacts> (integration: I | null, opts: { legacyPitFallback: boolean }): SendingAccess<I> {
  if (!integration) return opts.legacyPitFallback ? { kind: 'legacy_pit' } : { kind: 'refused', code: 'not_connected' }
  if (integration.status === 'needs_reauth') return { kind: 'refused', code: 'needs_reauth' }
  // An empty token cannot be stored (the column holds its ciphertext), so this is `is not null`.
  if (!integration.isActive || !integration.accessToken) return { kind: 'refused', code: 'not_connected' }
  return { kind: 'oauth', integration }
}

/**
 * The rows for which `sendingAccess` answers `oauth`, as SQL on `ghl_integrations` (not aliased).
 * Only the OAuth case is decided in SQL: the fast path leaves everything else to the slow path,
 * which asks `sendingAccess`.
 */
export const sendsWithOAuth: SQL = sql`${ghlIntegrations.isActive} and ${ghlIntegrations.accessToken} is not null and ${ghlIntegrations.status} <> 'needs_reauth'`

/**
 * What a send's credential was read from, so a write can check it still holds: an integration at
 * one token version (every token write, disconnect and replacement bumps it), or, for the legacy
 * PIT, a client with no integration at all (the rule's "never connected").
 */
export type CredentialBasis =
  | { kind: 'oauth', integrationId: string, tokenVersion: number }
  | { kind: 'legacy_pit', clientId: string }

/**
 * A client as stored now, without its tokens: the row `findForSending` would read (its active
 * integration, else its newest past one), or null when it never connected. Cheap to read beside
 * the outbox row (an index lookup, nothing to decrypt).
 */
export interface SendingStamp {
  integrationId: string
  tokenVersion: number
  sendsWithOAuth: boolean
  /** The stored token's expiry: a token made due without a new one (an operator, a drill) is not served from a cache. */
  expiresAt: Date
}

/**
 * Whether a credential read on `basis` is still what the rule gives the client stored as `stamp`.
 * The SQL half, for the `queued -> sending` write, is `basisHoldsSql` (sending.test.ts checks they agree).
 */
export function basisHolds (basis: CredentialBasis, stamp: SendingStamp | null): boolean {
  if (basis.kind === 'legacy_pit') return stamp === null
  return stamp !== null && stamp.sendsWithOAuth && stamp.integrationId === basis.integrationId && stamp.tokenVersion === basis.tokenVersion
}

/** `basisHolds` as SQL, its values as given (placeholders in a prepared statement). */
export function basisHoldsSql (basis: { kind: 'oauth', integrationId: unknown, tokenVersion: unknown } | { kind: 'legacy_pit', clientId: unknown }): SQL {
  if (basis.kind === 'legacy_pit') return sql`not exists (select 1 from ${ghlIntegrations} where ${ghlIntegrations.clientId} = ${basis.clientId})`
  return sql`exists (select 1 from ${ghlIntegrations} where ${ghlIntegrations.id} = ${basis.integrationId} and ${ghlIntegrations.tokenVersion} = ${basis.tokenVersion} and ${sendsWithOAuth})`
}
