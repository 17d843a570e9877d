/**
 * HighLevel signs webhooks with Ed25519 over the raw body bytes (X-GHL-Signature, base64).
 * The official template verified re-serialised JSON and let unsigned calls through; here the
 * raw bytes are verified and anything that does not verify is refused.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'

export function parsePublicKey (value: string): KeyObject {
  const trimmed = value.trim()
  if (trimmed.startsWith('-----BEGIN')) return createPublicKey(trimmed)
  return createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' })
}

export function verifyWebhookSignature (publicKey: KeyObject, rawBody: Buffer, signature: string | undefined): boolean {
  if (!signature || !/^[A-Za-z0-9+/=_-]{40,200}$/.test(signature)) return false
  try {
    return verify(null, rawBody, publicKey, Buffer.from(signature, 'base64'))
  } catch {
    return false
  }
}
