/**
 * The admin pages (Bull Board at /admin/queues, the connections page at /admin/connections) take
 * HTTP basic auth with ADMIN_USER / ADMIN_PASSWORD, checked here for both. The credentials are
 * compared as SHA-256 digests in constant time (neither content nor length leaks). Both pages
 * share one realm, so a browser that logged in to one sends the same credentials to the other.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sameDigest, secretDigest } from '@ghl-connect/process-kit'

/** Where the admin pages live; each links to the other. */
export const ADMIN_PAGES = { queues: '/admin/queues', connections: '/admin/connections' } as const

export const ADMIN_CHALLENGE = 'Basic realm="ghl-connect admin", charset="UTF-8"'

/** Whether a request carries the admin credentials; when not, the reply gets the basic-auth challenge. */
export function adminCredentials (admin: { user: string, password: string }) {
  const user = secretDigest(admin.user)
  const password = secretDigest(admin.password)
  return (request: FastifyRequest, reply: FastifyReply): boolean => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : ''
    const sep = decoded.indexOf(':')
    // Both compared every time, so a right user name does not answer faster than a wrong one.
    const userOk = sameDigest(secretDigest(sep >= 0 ? decoded.slice(0, sep) : ''), user)
    const passwordOk = sameDigest(secretDigest(sep >= 0 ? decoded.slice(sep + 1) : ''), password)
    if (match && userOk && passwordOk) return true
    reply.header('www-authenticate', ADMIN_CHALLENGE)
    return false
  }
}
