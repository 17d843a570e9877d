/**
 * "Can this client send now, and with which token?" One rule, read by the api's intake, the
 * worker's credentials and the TokenService, and the SQL condition of the intake's one-round-trip
 * fast path beside it, so the two cannot drift (packages/db/test/sending.test.ts checks that they
 * agree on every combination against PostgreSQL).
 */
import { sql, type SQL } from 'drizzle-orm'
import type { Integration } from '../repositories/integrations.ts'
import { ghlIntegrations } from '../schema/index.ts'

/** What the rule reads of an integration. */
export type SendingFacts = Pick<Integration, 'isActive' | 'accessToken' | 'status'>

export type SendingRefusal = 'not_connected' | 'needs_reauth'

export type SendingAccess<I extends SendingFacts = Integration> =
  | { kind: 'oauth', integration: I }
  /** No OAuth connection, but the seed's migration phases send with the legacy Private Integration Token. */
  | { kind: 'legacy_pit' }
  | { kind: 'refused', code: SendingRefusal }

/**
 * `integration` is the client's integration as stored (null when it has none). An inactive one is
 * a past connection and counts as none. The legacy PIT stands in only for a client without an
 * OAuth token; a connection HighLevel revoked (needs_reauth) is refused even with the fallback on:
 * the client must reconnect, and sending with another token would hide that.
 */
export function sendingAccess<I extends SendingFacts> (integration: I | null, opts: { legacyPitFallback: false }): Exclude<SendingAccess<I>, { kind: 'legacy_pit' }>
export function sendingAccess<I extends SendingFacts> (integration: I | null, opts: { legacyPitFallback: boolean }): SendingAccess<I>
export function sendingAccess<I extends SendingFacts> (integration: I | null, opts: { legacyPitFallback: boolean }): SendingAccess<I> {
  const current = integration?.isActive ? integration : null
  // An empty token cannot be stored (the column holds its ciphertext), so this is `is not null`.
  if (!current?.accessToken && !opts.legacyPitFallback) return { kind: 'refused', code: 'not_connected' }
  if (current?.status === 'needs_reauth') return { kind: 'refused', code: 'needs_reauth' }
  return current?.accessToken ? { kind: 'oauth', integration: current } : { kind: 'legacy_pit' }
}

/**
 * The rows for which `sendingAccess` answers `oauth`, as SQL on `ghl_integrations` (not aliased).
 * Only the OAuth case is decided in SQL: the fast path leaves everything else to the slow path,
 * which asks `sendingAccess`.
 */
export const sendsWithOAuth: SQL = sql`${ghlIntegrations.isActive} and ${ghlIntegrations.accessToken} is not null and ${ghlIntegrations.status} <> 'needs_reauth'`
