/**
 * HighLevel's webhooks (INSTALL / UNINSTALL, ContactDndUpdate), signed the way HighLevel signs them: Ed25519 over
 * the raw body, base64 in `X-GHL-Signature`. The key pair is the sandbox's own, so the api under test
 * is configured with the sandbox's public key instead of HighLevel's.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { DND_CHANNELS, type SandboxContact } from './state.ts'

export class WebhookSigner {
  private readonly privateKey: KeyObject
  /** SPKI DER, base64: the form GHL_WEBHOOK_PUBLIC_KEY takes. */
  readonly publicKeyBase64: string
  readonly publicKeyPem: string

  /** `privateKey`: PKCS#8 PEM, or the base64 of its DER body; a fresh pair when absent. */
  constructor (privateKey?: string) {
    this.privateKey = privateKey ? parsePrivateKey(privateKey) : generateKeyPairSync('ed25519').privateKey
    if (this.privateKey.asymmetricKeyType !== 'ed25519') throw new Error('SANDBOX_WEBHOOK_PRIVATE_KEY must be an Ed25519 private key')
    const publicKey = createPublicKey(this.privateKey)
    this.publicKeyBase64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }

  sign (rawBody: string | Buffer): string {
    return sign(null, Buffer.from(rawBody), this.privateKey).toString('base64')
  }
}

function parsePrivateKey (value: string): KeyObject {
  const text = value.trim().replace(/\\n/g, '\n')
  try {
    if (text.includes('-----BEGIN')) return createPrivateKey({ key: text, format: 'pem' })
    return createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' })
  } catch {
    // Never echo the key material.
    throw new Error('SANDBOX_WEBHOOK_PRIVATE_KEY is not a PKCS#8 Ed25519 private key (PEM, or the base64 of its DER)')
  }
}

export type WebhookType = 'INSTALL' | 'UNINSTALL' | 'ContactDndUpdate'

export interface WebhookRequest {
  url: string
  type: WebhookType
  locationId?: string
  companyId?: string
  /** ContactDndUpdate: the contact it reports (its current dnd and dndSettings). */
  contactId?: string
  /** Fields to add or replace (a foreign appId, a stale timestamp, a repeated webhookId...). */
  overrides?: Record<string, unknown>
  /** Sent instead of the real signature, to test that a bad one is refused. */
  signature?: string
}

export interface WebhookDelivery {
  status: number
  responseBody: string
  payload: Record<string, unknown>
  rawBody: string
  signature: string
}

export function webhookPayload (
  type: WebhookType,
  context: { appId: string, locationId?: string, companyId: string, companyName?: string, now: number },
): Record<string, unknown> {
  const delivery = { timestamp: new Date(context.now).toISOString(), webhookId: randomUUID() }
  const where = context.locationId ? { locationId: context.locationId } : {}
  // As HighLevel's examples show it: a location-level UNINSTALL names the location, an
  // agency-level one only the company (README: what its docs leave open).
  if (type === 'UNINSTALL') return { type, appId: context.appId, ...(context.locationId ? where : { companyId: context.companyId }), ...delivery }
  return {
    type,
    appId: context.appId,
    companyId: context.companyId,
    ...delivery,
    ...where,
    installType: context.locationId ? 'Location' : 'Company',
    userId: 'sbxUser0000000000001',
    planId: 'sbxPlan0000000000001',
    companyName: context.companyName ?? 'Sandbox Agency',
    isWhitelabelCompany: false,
  }
}

/**
 * ContactDndUpdate as HighLevel's page for it shows (ghl-docs/webhook-events/ContactDndUpdate.md):
 * the contact's fields, unset ones left out, every channel of dndSettings, and no appId (its
 * example has none). `timestamp` and `webhookId` are not in that page's schema; HighLevel's
 * webhook guidance has them on every delivery.
 */
export function contactDndPayload (contact: SandboxContact, now: number): Record<string, unknown> {
  const dndSettings = Object.fromEntries(DND_CHANNELS.map((channel) => [channel, contact.dndSettings[channel] ?? { status: 'inactive', message: '', code: '' }]))
  const fields = {
    type: 'ContactDndUpdate', locationId: contact.locationId, id: contact.id, source: 'public api', dateAdded: contact.dateAdded,
    dnd: contact.dnd, dndSettings, email: contact.email, name: contact.name, firstName: contact.firstName, lastName: contact.lastName,
    phone: contact.phone, tags: contact.tags, attachments: [], customFields: [],
    timestamp: new Date(now).toISOString(), webhookId: randomUUID(),
  }
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined))
}

export async function deliverWebhook (signer: WebhookSigner, request: Pick<WebhookRequest, 'url' | 'overrides' | 'signature'>, payload: Record<string, unknown>, timeoutMs = 10_000): Promise<WebhookDelivery> {
  const rawBody = JSON.stringify({ ...payload, ...request.overrides })
  const signature = request.signature ?? signer.sign(rawBody)
  const response = await fetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ghl-signature': signature },
    body: rawBody,
    signal: AbortSignal.timeout(timeoutMs),
  })
  return { status: response.status, responseBody: await response.text(), payload: JSON.parse(rawBody), rawBody, signature }
}
