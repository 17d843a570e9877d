/**
 * Proof of possession for marketplace installs. An install that arrives without our state is
 * kept unclaimed; the page the installer sees shows a one-time claim code, and only whoever has
 * that code (the installer, typing it into the CRM) can attach the install to a client. A location
 * id alone is no proof: it is not a secret.
 */
import { createHmac, randomInt } from 'node:crypto'
import { LocationTakenError, type InstallClaimCodesRepository, type Integration, type IntegrationsRepository } from '@ghl-connect/db'
import { conflict, forbidden, notFound } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import { sameSecret } from '@ghl-connect/secrets'
import type { ConnectionEvents } from './connection-events.ts'

export const CLAIM_CODE_TTL_MS = 24 * 3600_000
export const CLAIM_CODE_MAX_ATTEMPTS = 5

/** No 0/O or 1/I: a person copies the code by eye. 32 symbols, 10 of them: 50 bits. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
const CODE_LENGTH = 10

/** A fresh claim code as shown to a person: two groups of five, e.g. `K7QMX-3TRWA`. */
export function newClaimCode (): string {
  const symbols = Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')
  return `${symbols.slice(0, 5)}-${symbols.slice(5)}`
}

/** What a person typed, as the code it means: case, spaces and dashes do not matter. */
export const normalizeClaimCode = (typed: string): string => typed.toUpperCase().replace(/[\s-]+/g, '')

export class InstallClaims {
  constructor (
    /** Keys the code's hash, so a copy of the table alone cannot be searched for the codes. */
    private readonly secret: string,
    private readonly codes: InstallClaimCodesRepository,
    private readonly integrations: IntegrationsRepository,
    private readonly events: ConnectionEvents,
    private readonly logger: Logger,
  ) {}

  /** Issues the code for a new unclaimed install (replacing an earlier install's) and returns it, to be shown once. */
  async issue (locationId: string, now = Date.now()): Promise<string> {
    const code = newClaimCode()
    await this.codes.issue(locationId, this.digest(locationId, code), new Date(now + CLAIM_CODE_TTL_MS))
    return code
  }

  /** Attaches the unclaimed install of `locationId` to `clientId` when `claimCode` is its code; throws otherwise. */
  async claim (clientId: string, locationId: string, claimCode: string): Promise<Integration> {
    const presented = this.digest(locationId, claimCode)
    const check = await this.codes.redeem(locationId, (stored) => sameSecret(presented, stored), CLAIM_CODE_MAX_ATTEMPTS)
    const reinstall = 'Install the app again from the HighLevel marketplace to get a new claim code.'
    switch (check.outcome) {
      case 'unknown':
        throw noInstall(locationId)
      case 'expired':
        throw forbidden('claim_code_expired', `The claim code for location ${locationId} has expired (codes are valid 24 hours). ${reinstall}`)
      case 'exhausted':
        throw forbidden('claim_code_exhausted', `Too many wrong claim codes were tried for location ${locationId}, so its code no longer works. ${reinstall}`)
      case 'wrong':
        this.logger.warn({ clientId, locationId, attemptsLeft: check.attemptsLeft }, 'wrong claim code')
        throw check.attemptsLeft > 0
          ? forbidden('invalid_claim_code', `The claim code is not the one shown after installing the app for location ${locationId}; ${check.attemptsLeft} ${check.attemptsLeft === 1 ? 'attempt' : 'attempts'} left.`)
          : forbidden('claim_code_exhausted', `The claim code is wrong and that was the last attempt: the code for location ${locationId} no longer works. ${reinstall}`)
    }
    const claimed = await this.integrations.claim(clientId, locationId).catch((err: unknown) => {
      if (err instanceof LocationTakenError) {
        throw conflict('location_taken', `Location ${locationId} is already connected to another client, and a location can be connected to one client only. Disconnect it from that client first.`)
      }
      throw err
    })
    if (!claimed) throw noInstall(locationId)
    this.logger.info({ clientId, locationId }, 'install claimed')
    await this.events.replaced(clientId, claimed)
    return claimed.integration
  }

  /** The stored form of a code, however it was typed. */
  private digest (locationId: string, code: string): string {
    return createHmac('sha256', this.secret).update(`install-claim-code:${locationId}:${normalizeClaimCode(code)}`).digest('base64url')
  }
}

const noInstall = (locationId: string) => notFound('no_unclaimed_install',
  `No unclaimed HighLevel install waits for location ${locationId}: install the app from the HighLevel marketplace first (the page after installing shows the claim code), or connect with a link.`)
