/**
 * Comparing something a caller presents (API key, admin credentials, link signature, state
 * cookie nonce, metrics token) with what we hold: both as SHA-256 digests, in constant time, so neither the
 * content nor the length of the secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/** A configured secret's digest, computed once at start-up and compared with `sameDigest`. */
export const secretDigest = (value: string): Buffer => createHash('sha256').update(value).digest()

export const sameDigest = (a: Buffer, b: Buffer): boolean => timingSafeEqual(a, b)

export const sameSecret = (presented: string, expected: string): boolean => sameDigest(secretDigest(presented), secretDigest(expected))
