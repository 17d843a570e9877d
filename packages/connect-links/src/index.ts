/**
 * Signed links into the connect flow. The seed's `?clientId=123` let anyone connect their
 * HighLevel account to any client; a link here names the client, an expiry and (optionally) where
 * to return, signed with CONNECT_LINK_SECRET, and the purpose is part of what is signed so a
 * /connect page link cannot be replayed as an authorize link or the other way round. A random
 * nonce makes every link distinct, so each one can be single-use (ConnectService) on its own.
 * Shared by the api (which mints and checks links) and the CLI (`pnpm ghl links create`), so a
 * link minted by either is the same link.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { badRequest, forbidden } from '@ghl-connect/errors'
import { sameSecret } from '@ghl-connect/secrets'

export type LinkPurpose = 'authorize' | 'connect'

export interface ConnectLinkClaims {
  clientId: string
  /** Unix seconds */
  exp: number
  returnUrl?: string
  /** Makes two links for one client in one second distinct; absent on links made before it existed. */
  nonce?: string
  /** On an authorize link a /connect page minted: that page link's id, spent with this link so the page connects once. */
  page?: string
}

export interface VerifiedLink extends ConnectLinkClaims {
  /** A hash of the signature: names this one link (for single use) without storing the credential. */
  linkId: string
}

/** The heading of the page a person sees when their link is refused. */
const REFUSED_TITLE: Record<LinkPurpose, string> = {
  authorize: 'This connect link cannot be used',
  connect: 'This page link cannot be used',
}

/**
 * The CRM's opaque client id: visible ASCII without spaces or slashes, so it is safe in paths,
 * keys and job ids. The api's request schemas and the CLI check ids against this one pattern.
 */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9._:@+=|~-]+$'
export const MAX_CLIENT_ID_LENGTH = 128

export const DEFAULT_LINK_TTL_SECONDS = 600
export const MAX_LINK_TTL_SECONDS = 7 * 86_400

export class ConnectLinks {
  constructor (private readonly secret: string, private readonly appUrl: string, private readonly crmOrigin: string) {}

  private signature (purpose: LinkPurpose, c: ConnectLinkClaims): string {
    return createHmac('sha256', this.secret)
      // `page` as an object: no string claim can be read as it, and links without it sign as before.
      .update(JSON.stringify([purpose, c.clientId, c.exp, c.returnUrl ?? '', ...(c.nonce ? [c.nonce] : []), ...(c.page ? [{ page: c.page }] : [])]))
      .digest('base64url')
  }

  /** A returnUrl must stay on the CRM's origin, so a link cannot be turned into an open redirect. */
  checkReturnUrl (purpose: LinkPurpose, returnUrl: string | undefined): string | undefined {
    if (returnUrl === undefined) return undefined
    const pageTitle = REFUSED_TITLE[purpose]
    let parsed: URL
    try {
      parsed = new URL(returnUrl)
    } catch {
      throw badRequest('invalid_return_url', 'returnUrl must be an absolute URL on the CRM origin.', { pageTitle })
    }
    if (parsed.origin !== this.crmOrigin) {
      throw badRequest('invalid_return_url', `returnUrl must be on the CRM origin ${this.crmOrigin} (CRM_ORIGIN).`, { pageTitle })
    }
    return parsed.toString()
  }

  create (purpose: LinkPurpose, input: { clientId: string, ttlSeconds?: number, returnUrl?: string, page?: string }, now = Date.now()): { url: string, expiresAt: Date } {
    const claims: ConnectLinkClaims = {
      clientId: input.clientId,
      exp: Math.floor(now / 1000) + (input.ttlSeconds ?? DEFAULT_LINK_TTL_SECONDS),
      returnUrl: this.checkReturnUrl(purpose, input.returnUrl),
      nonce: randomBytes(12).toString('base64url'),
      page: input.page,
    }
    const url = new URL(purpose === 'authorize' ? '/api/ghl-oauth/authorize' : '/connect', this.appUrl)
    url.searchParams.set('clientId', claims.clientId)
    url.searchParams.set('exp', String(claims.exp))
    if (claims.returnUrl) url.searchParams.set('returnUrl', claims.returnUrl)
    url.searchParams.set('nonce', claims.nonce!)
    if (claims.page) url.searchParams.set('page', claims.page)
    url.searchParams.set('sig', this.signature(purpose, claims))
    return { url: url.toString(), expiresAt: new Date(claims.exp * 1000) }
  }

  /** Throws a 403 with the reason a person can act on; returns the claims when the link is good. */
  verify (purpose: LinkPurpose, query: { clientId?: string, exp?: string, sig?: string, returnUrl?: string, nonce?: string, page?: string }, now = Date.now()): VerifiedLink {
    const { clientId, exp, sig, returnUrl, nonce, page } = query
    const pageTitle = REFUSED_TITLE[purpose]
    if (!clientId || !exp || !sig) {
      throw forbidden('unsigned_link', 'This connect link is not signed. Ask your CRM for a new "Connect GoHighLevel" link; links carry an expiry and a signature.', { pageTitle })
    }
    const claims: ConnectLinkClaims = { clientId, exp: Number(exp), returnUrl, nonce, page }
    if (!Number.isInteger(claims.exp) || !sameSecret(sig, this.signature(purpose, claims))) {
      throw forbidden('invalid_link_signature', 'This connect link was altered or is not from your CRM. Ask your CRM for a new "Connect GoHighLevel" link.', { pageTitle })
    }
    if (claims.exp * 1000 < now) {
      throw forbidden('link_expired', 'This connect link has expired. Ask your CRM for a new "Connect GoHighLevel" link.', { pageTitle })
    }
    this.checkReturnUrl(purpose, returnUrl)
    return { ...claims, linkId: createHash('sha256').update(sig).digest('base64url') }
  }
}
