/**
 * The admin pages (Bull Board at /admin/queues, the connections page at /admin/connections) take
 * HTTP basic auth with ADMIN_USER / ADMIN_PASSWORD, checked here for both. The credentials are
 * compared as SHA-256 digests in constant time (neither content nor length leaks). Both pages
 * share one realm, so a browser that logged in to one sends the same credentials to the other.
 *
 * Guessing is bounded: after ADMIN_MAX_FAILURES wrong tries from one address (an IPv6 /64) within
 * the window, that address is answered 429 with Retry-After, even with the right password, until
 * the window ends. Counted in Redis (every replica shares it); another address is not affected.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type AppError, tooManyRequests, unauthorized } from '@ghl-connect/errors'
import { sameDigest, secretDigest } from '@ghl-connect/secrets'
import { clientAddressBucket } from '../plugins/external/rate-limit.ts'

/** Where the admin pages live; each links to the other. */
export const ADMIN_PAGES = { queues: '/admin/queues', connections: '/admin/connections' } as const

export const ADMIN_CHALLENGE = 'Basic realm="ghl-connect admin", charset="UTF-8"'
export const ADMIN_MAX_FAILURES = 10
export const ADMIN_FAILURE_WINDOW_MS = 15 * 60_000

/**
 * The admin check: resolves to nothing when the request carries the admin credentials, else to the
 * error to answer (401 with the basic-auth challenge on the reply, or 429 once the address is locked).
 */
export function adminCredentials (fastify: FastifyInstance, admin: { user: string, password: string }, page: string) {
  const user = secretDigest(admin.user)
  const password = secretDigest(admin.password)
  const failures = fastify.createRateLimit({
    max: ADMIN_MAX_FAILURES,
    timeWindow: ADMIN_FAILURE_WINDOW_MS,
    keyGenerator: (request) => `admin-failures:${clientAddressBucket(request)}`,
  })
  const locked = (ttlMs: number) => {
    const seconds = Math.max(1, Math.ceil(ttlMs / 1000))
    return tooManyRequests('admin_locked', `Too many wrong admin passwords from your address; try again in ${seconds} seconds.`, seconds)
  }

  return async (request: FastifyRequest, reply: FastifyReply): Promise<AppError | undefined> => {
    const before = await failures(request, { increment: false })
    if (!before.isAllowed && before.remaining === 0) return locked(before.ttl)
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : ''
    const sep = decoded.indexOf(':')
    // Both compared every time, so a right user name does not answer faster than a wrong one.
    const userOk = sameDigest(secretDigest(sep >= 0 ? decoded.slice(0, sep) : ''), user)
    const passwordOk = sameDigest(secretDigest(sep >= 0 ? decoded.slice(sep + 1) : ''), password)
    if (match && userOk && passwordOk) return undefined
    // A browser's first visit sends no credentials: only a wrong try counts.
    if (match) {
      const after = await failures(request)
      if (!after.isAllowed && after.isExceeded) return locked(after.ttl)
    }
    reply.header('www-authenticate', ADMIN_CHALLENGE)
    return unauthorized('admin_credentials_required', `${page} needs the admin user name and password (ADMIN_USER / ADMIN_PASSWORD).`)
  }
}
