/**
 * What a client access token may do, for its one client. A route or an MCP tool names the scope
 * it needs (the api's route config, services/api/src/mcp/mcp-tools.ts); a token without it is
 * refused 403 insufficient_scope. `proxy` (the raw /api/ghl/:clientId/* passthrough) reaches
 * everything the client's HighLevel token can, so it is never given unless asked for.
 */
import { badRequest } from '@ghl-connect/errors'

export const SCOPES = [
  'sms:send', 'sms:read', 'email:send', 'email:read', 'contacts:read', 'contacts:write',
  'opportunities:read', 'opportunities:write', 'calendars:read', 'conversations:read', 'proxy',
] as const
export type Scope = (typeof SCOPES)[number]

/** What a token gets when its creator names no scopes: everything but the raw proxy. */
export const DEFAULT_SCOPES: readonly Scope[] = SCOPES.filter((s) => s !== 'proxy')

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value)

/** The scopes a creator asked for, each once and in SCOPES order; 400 naming the first unknown one. */
export function parseScopes (asked: readonly string[] | undefined): Scope[] {
  if (asked === undefined) return [...DEFAULT_SCOPES]
  if (asked.length === 0) throw badRequest('scopes_required', `Give at least one scope, or leave scopes out for every scope but proxy. Scopes: ${SCOPES.join(', ')}.`)
  const unknown = asked.find((s) => !isScope(s))
  if (unknown !== undefined) {
    throw badRequest('unknown_scope', `"${printable(unknown)}" is not a scope. Scopes: ${SCOPES.join(', ')}.`, { fields: { scopes: `unknown scope "${printable(unknown)}"` } })
  }
  return SCOPES.filter((s) => asked.includes(s))
}

/** A caller's text in our message, bounded and without control characters. */
const printable = (text: string) => text.slice(0, 64).replace(/[^\x20-\x7E]/g, '?')
