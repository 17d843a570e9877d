/**
 * HighLevel calls made with one credential for one job (an SMS: the recipient lookup, then the
 * POST). When HighLevel says the access token expired, the token is refreshed once through the
 * locked path and the call retried once; that one refresh is shared by every call of the job, so a
 * token HighLevel still rejects after a refresh is reported, not refreshed again in a loop. A
 * legacy Private Integration Token is never refreshed.
 */
import { isGhlError } from '@ghl-connect/ghl'
import { oauthCredential, type Credential } from './credentials.ts'
import type { TokenService } from './token-service.ts'

export interface AccessToken { accessToken: string, locationId: string }

/** Calls HighLevel with the job's token; `credential` is the token now held (the refreshed one after a refresh). */
export interface FreshTokenCall {
  <T>(call: (token: AccessToken) => Promise<T>): Promise<T>
  readonly credential: Credential
  /** The job's one refresh is spent: a later 401 is reported, not refreshed again. */
  readonly refreshed: boolean
}

export function withFreshToken (tokens: Pick<TokenService, 'refreshNow'>, credential: Credential): FreshTokenCall {
  let current = credential
  let refreshed = false
  const call = async <T>(fn: (token: AccessToken) => Promise<T>): Promise<T> => {
    try {
      return await fn(current)
    } catch (err) {
      if (!isGhlError(err) || err.kind !== 'token_expired' || refreshed) throw err
      refreshed = true
      if (current.kind !== 'oauth') throw err
      current = oauthCredential(await tokens.refreshNow(current.clientId, current.integration))
      return fn(current)
    }
  }
  return Object.defineProperties(call, {
    credential: { get: () => current },
    refreshed: { get: () => refreshed },
  }) as FreshTokenCall
}
