/**
 * AES-256-GCM for tokens at rest. Each value carries the id of the key that sealed it, so keys
 * rotate without a flag day: decrypt with the key the value names, encrypt with the primary.
 * The associated data binds a ciphertext to its row and column, so a value copied into another
 * row (or from refresh_token to access_token) does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { EncryptionKey } from '@ghl-connect/config'

const FORMAT = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

export class TokenDecryptionError extends Error {
  override name = 'TokenDecryptionError'
}

export class TokenCipher {
  private readonly keys: Map<string, Buffer>
  readonly primaryKeyId: string

  constructor (keys: readonly EncryptionKey[]) {
    const primary = keys[0]
    if (!primary) throw new Error('TokenCipher needs at least one key (TOKEN_ENCRYPTION_KEYS)')
    this.keys = new Map(keys.map((k) => [k.id, k.key]))
    this.primaryKeyId = primary.id
  }

  encrypt (plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.primaryKeyId)!, iv, { authTagLength: TAG_BYTES })
    cipher.setAAD(Buffer.from(context))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [FORMAT, this.primaryKeyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
  }

  decrypt (sealed: string, context: string): string {
    const [format, keyId, iv, tag, body, ...extra] = sealed.split('.')
    if (format !== FORMAT || !keyId || !iv || !tag || body === undefined || extra.length > 0) {
      throw new TokenDecryptionError(`A stored token (${context}) is not in the ${FORMAT} ciphertext format; it may have been written by hand or truncated.`)
    }
    const key = this.keys.get(keyId)
    if (!key) {
      throw new TokenDecryptionError(`A stored token (${context}) was encrypted with key "${keyId}", which is not in TOKEN_ENCRYPTION_KEYS; add that key back (as a secondary) to read it.`)
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(context))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
    } catch {
      throw new TokenDecryptionError(`A stored token (${context}) failed authentication under key "${keyId}": the ciphertext was altered or belongs to another row.`)
    }
  }

  keyIdOf (sealed: string): string | undefined {
    return sealed.split('.')[1]
  }

  isUnderPrimary (sealed: string): boolean {
    return this.keyIdOf(sealed) === this.primaryKeyId
  }
}
