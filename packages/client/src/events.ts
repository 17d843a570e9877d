/**
 * Checking an event from ghl-connect on the CRM's side: the POST carries
 * `X-GHL-Connect-Signature: sha256=<hex HMAC-SHA256 of the raw body under CRM_WEBHOOK_SECRET>`.
 * Check it over the body exactly as received (before any JSON parsing), in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-ghl-connect-signature'
export const EVENT_ID_HEADER = 'x-ghl-connect-event-id'

export type CrmEventType = 'sms.sent' | 'sms.failed' | 'connection.broken' | 'connection.recovered' | 'connection.replaced' | 'install.pending'

/** The JSON body of an event. `id` is stable: the same fact delivered again has the same id, so drop one you have seen. */
export interface CrmEvent {
  id: string
  type: CrmEventType
  occurredAt: string
  data: Record<string, unknown>
}

/** true when `signatureHeader` is our signature of exactly `rawBody` under `secret` (CRM_WEBHOOK_SECRET). */
export function verifyEvent (rawBody: string | Uint8Array, signatureHeader: string | string[] | null | undefined, secret: string): boolean {
  const header = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader
  if (typeof header !== 'string' || !header.startsWith('sha256=') || !secret) return false
  const given = Buffer.from(header.slice('sha256='.length), 'hex')
  const expected = createHmac('sha256', secret).update(rawBody).digest()
  // A header that is not 64 hex digits decodes to another length: refused before the comparison, which needs equal lengths.
  return given.length === expected.length && timingSafeEqual(given, expected)
}
