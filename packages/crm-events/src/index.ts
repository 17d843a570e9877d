/**
 * The CRM event contract, in one place: which events the CRM receives, the headers they carry, and
 * how they are signed and verified. The worker signs with it, @ghl-connect/db builds events of its
 * types, the test receiver verifies with it, and the typed client (@ghl-connect/client, published
 * on its own, so it cannot import a workspace package) ships a generated copy of this file
 * (`pnpm --filter @ghl-connect/client generate`; its test fails while the copy is stale).
 * It imports nothing but node:crypto, so it sits at the bottom of the package graph: every package
 * may import it, and it imports none of ours. (The other way round, db importing the client, would
 * make a cycle: the client's tests need db, the api and the worker.)
 *
 * Signatures follow Standard Webhooks (https://www.standardwebhooks.com/):
 *   webhook-id: <the event's id>   webhook-timestamp: <unix seconds when this delivery was sent>
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">
 * A receiver refuses a timestamp more than 5 minutes from its clock, so a captured event cannot be
 * replayed later. The HMAC key is CRM_WEBHOOK_SECRET's bytes (see signingKey).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const crmEventTypes = ['sms.sent', 'sms.failed', 'sms.delivery', 'sms.received', 'email.sent', 'email.failed', 'email.delivery', 'email.received', 'connection.broken', 'connection.recovered', 'connection.replaced', 'connection.expiring', 'agency.broken', 'install.pending'] as const
export type CrmEventType = (typeof crmEventTypes)[number]

/** The JSON body of an event. `id` is stable: the same fact delivered again has the same id, so drop one you have seen. */
export interface CrmEvent {
  id: string
  type: CrmEventType
  occurredAt: string
  data: Record<string, unknown>
}

/** The headers of an event's POST (lower case, as Node hands them over). */
export const crmEventHeaders = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  type: 'x-ghl-connect-event-type',
  /** Deprecated: `sha256=<hex HMAC-SHA256 of the raw body>` with no timestamp, so replayable. Sent for one more release. */
  legacySignature: 'x-ghl-connect-signature',
  /** Deprecated: the same value as webhook-id. Sent for one more release. */
  legacyId: 'x-ghl-connect-event-id',
} as const

/** How far webhook-timestamp may be from the receiver's clock, either way (Standard Webhooks' own default). */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60

const WHSEC = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const MIN_WHSEC_KEY_BYTES = 24

/**
 * The HMAC key of a CRM_WEBHOOK_SECRET. `whsec_<base64>` (a Standard Webhooks secret): the
 * base64-decoded bytes, at least 24 of them. Any other secret (what CRMs hold today): its UTF-8
 * bytes, so the same CRM_WEBHOOK_SECRET verifies with a Standard Webhooks library as
 * `"whsec_" + base64(its UTF-8 bytes)`. A whsec_ secret that is not valid base64 is a
 * configuration error, not a plain secret: it throws.
 */
export function signingKey (secret: string): Buffer {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('The CRM webhook secret is empty: pass CRM_WEBHOOK_SECRET as ghl-connect has it.')
  if (!secret.startsWith(WHSEC)) return Buffer.from(secret, 'utf8')
  const encoded = secret.slice(WHSEC.length)
  const key = Buffer.from(encoded, 'base64')
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0 || key.length < MIN_WHSEC_KEY_BYTES) {
    throw new TypeError(`A CRM webhook secret starting with ${WHSEC} must be followed by standard base64 (with padding) of at least ${MIN_WHSEC_KEY_BYTES} bytes.`)
  }
  return key
}

const v1Signature = (key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer =>
  createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest()

/** The headers that sign one delivery of `event` (its JSON `body` exactly as sent), sent at `at`. */
export function signEvent (secret: string, event: { id: string, type: string, body: string }, at: Date = new Date()): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000))
  return {
    [crmEventHeaders.id]: event.id,
    [crmEventHeaders.timestamp]: timestamp,
    [crmEventHeaders.signature]: `v1,${v1Signature(signingKey(secret), event.id, timestamp, event.body).toString('base64')}`,
    [crmEventHeaders.type]: event.type,
    // The legacy header keeps exactly today's key (the secret's UTF-8 bytes), whatever form the secret has.
    [crmEventHeaders.legacySignature]: `sha256=${createHmac('sha256', secret).update(event.body).digest('hex')}`,
    [crmEventHeaders.legacyId]: event.id,
  }
}

export interface EventToVerify {
  /** The request body exactly as received (string or bytes), before any JSON parsing. */
  rawBody: string | Uint8Array
  /** The request's headers: Node's `req.headers`, a plain object, or a fetch `Headers`. */
  headers: Headers | Record<string, string | string[] | undefined>
  /** CRM_WEBHOOK_SECRET as ghl-connect has it: the plain secret or whsec_<base64>. */
  secret: string
  /** The clock to check webhook-timestamp against; now unless given. */
  now?: Date
}

export type EventRefusal = 'missing_headers' | 'timestamp_out_of_tolerance' | 'bad_signature' | 'not_an_event'

/** Verified: the event, parsed from the body that was signed. Refused: why, and a sentence for your log. */
export type EventCheck = { ok: true, event: CrmEvent } | { ok: false, reason: EventRefusal, message: string }

const refused = (reason: EventRefusal, message: string): EventCheck => ({ ok: false, reason, message })

function headerOf (headers: EventToVerify['headers'], name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value
  }
  return undefined
}

/**
 * Checks an event's Standard Webhooks signature over the raw body, in constant time, and that it
 * was sent within 5 minutes of `now` (either way): a captured event replayed later is refused.
 * Only a verified event is parsed and returned, so use `check.event`, not your own parse.
 * The legacy X-GHL-Connect-Signature is not accepted here: it carries no timestamp.
 */
export function verifyEvent (input: EventToVerify): EventCheck {
  if (typeof input !== 'object' || input === null || !('rawBody' in input)) {
    throw new TypeError('verifyEvent takes one object: {rawBody, headers, secret}.')
  }
  const { rawBody, headers, secret, now = new Date() } = input
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new TypeError('verifyEvent needs rawBody as received (a string or Buffer), before JSON parsing: e.g. express.raw({ type: "application/json" }).')
  }
  const key = signingKey(secret)
  const id = headerOf(headers, crmEventHeaders.id)
  const timestamp = headerOf(headers, crmEventHeaders.timestamp)
  const signatures = headerOf(headers, crmEventHeaders.signature)
  if (!id || !timestamp || !signatures) {
    return refused('missing_headers', `An event carries ${crmEventHeaders.id}, ${crmEventHeaders.timestamp} and ${crmEventHeaders.signature}; this request lacks one.`)
  }
  const sentAt = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN
  if (!(Math.abs(now.getTime() / 1000 - sentAt) <= TIMESTAMP_TOLERANCE_SECONDS)) {
    return refused('timestamp_out_of_tolerance', `${crmEventHeaders.timestamp} is more than ${TIMESTAMP_TOLERANCE_SECONDS} seconds from now: a replay, or this server's clock is off.`)
  }
  const expected = v1Signature(key, id, timestamp, rawBody)
  // Several space-separated signatures may be sent (e.g. during a key rotation); one match is enough.
  const matches = signatures.split(' ').some((versioned) => {
    if (!versioned.startsWith('v1,')) return false
    const given = Buffer.from(versioned.slice(3), 'base64')
    // Another length is refused before the comparison, which needs equal lengths (a length is no secret).
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
  if (!matches) return refused('bad_signature', `${crmEventHeaders.signature} is not ghl-connect's signature of this body under this secret.`)
  let event: Partial<CrmEvent> | null
  try {
    event = JSON.parse(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8'))
  } catch {
    event = null
  }
  if (typeof event?.type !== 'string' || typeof event.occurredAt !== 'string' || typeof event.data !== 'object' || event.data === null || event.id !== id) {
    return refused('not_an_event', `The signed body is not an event {id, type, occurredAt, data} with the id of ${crmEventHeaders.id}.`)
  }
  return { ok: true, event: event as CrmEvent }
}
