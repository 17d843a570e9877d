/**
 * Comparing a presented secret (API key, admin credentials) with a configured one: both as
 * SHA-256 digests, in constant time, so neither content nor length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

export const secretDigest = (value: string): Buffer => createHash('sha256').update(value).digest()

export const sameDigest = (a: Buffer, b: Buffer): boolean => timingSafeEqual(a, b)
