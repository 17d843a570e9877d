/**
 * After an agency approved the app from a client's connect link, the person picks which of the
 * agency's sub-accounts is this client. The choice is held in Redis for 10 minutes under a random
 * token that only the page shown to that person carries (so another site cannot make the choice
 * for them), and is taken once: the first pick binds the client, a second is refused.
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { LocationTakenError, type IntegrationsRepository, type Replacement } from '@ghl-connect/db'
import { AppError } from '@ghl-connect/errors'
import type { RedisKeys } from '@ghl-connect/redis-keys'
import type { ConnectStart } from './oauth-states.ts'

export const PICK_TTL_SECONDS = 600

interface HeldPick {
  start: ConnectStart
  companyId: string
  locationIds: string[]
}

const pickExpired = () => new AppError(400, 'pick_expired',
  'This choice of sub-account expired (10 minutes) or was already made. Start again from "Connect GoHighLevel" in your CRM.',
  { pageTitle: 'This choice has expired' })

export class AgencyPicks {
  constructor (private readonly redis: Redis, private readonly keys: RedisKeys, private readonly integrations: IntegrationsRepository) {}

  /** Holds the choice; returns the token the picker page posts back. */
  async hold (start: ConnectStart, companyId: string, locationIds: string[]): Promise<string> {
    const token = randomBytes(24).toString('base64url')
    const held: HeldPick = { start, companyId, locationIds }
    await this.redis.set(this.keys.agencyPick(token), JSON.stringify(held), 'EX', PICK_TTL_SECONDS)
    return token
  }

  /** Binds the client to the picked sub-account's install; the token is spent whatever the outcome. */
  async pick (token: string, locationId: string): Promise<{ start: ConnectStart, replacement: Replacement }> {
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) throw pickExpired()
    const raw = await this.redis.getdel(this.keys.agencyPick(token))
    if (!raw) throw pickExpired()
    const held = JSON.parse(raw) as HeldPick
    if (!held.locationIds.includes(locationId)) {
      throw new AppError(400, 'location_not_offered', 'Pick one of the sub-accounts listed on the page. Start again from "Connect GoHighLevel" in your CRM.',
        { pageTitle: 'Not one of the sub-accounts offered' })
    }
    const replacement = await this.integrations.claim(held.start.clientId, locationId)
      .catch((err: unknown) => { if (err instanceof LocationTakenError) return null; throw err })
    if (!replacement) {
      throw new AppError(409, 'location_taken', 'That sub-account was connected elsewhere meanwhile, so nothing was changed. Start again from "Connect GoHighLevel" in your CRM.',
        { pageTitle: 'That sub-account is no longer available' })
    }
    return { start: held.start, replacement }
  }
}
