/**
 * HighLevel's answer to a refresh, kept the moment it arrives: HighLevel has spent the old refresh
 * token, so until the version-checked write lands this answer is the client's only live pair.
 * Kept in PostgreSQL, or in Redis (sealed the same way, for long) when PostgreSQL does not answer
 * in time; each attempt is bounded so the keeping ends inside the refresh fence's lease.
 * The refresh path applies a kept answer for the integration's current version before it spends
 * a refresh token or declares one dead.
 */
import type { Redis } from 'ioredis'
import type { Integration, NewTokens, TokenRefreshAnswersRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { RedisKeys } from '@ghl-connect/redis-keys'

const KEEP_IN_POSTGRES_MS = 2000
const KEEP_IN_REDIS_MS = 1000
/** The longest keeping may take; the fence's lease includes it. */
export const KEEP_BUDGET_MS = KEEP_IN_POSTGRES_MS + KEEP_IN_REDIS_MS
/** A kept answer waits for the client's next refresh, which may be a day away (or more, for an idle client). */
const KEPT_IN_REDIS_FOR_MS = 30 * 24 * 3600_000

export type KeptIn = 'postgres' | 'redis' | 'nowhere'

export class KeptAnswers {
  constructor (
    private readonly answers: TokenRefreshAnswersRepository,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  async keep (replaced: Integration, tokens: NewTokens): Promise<KeptIn> {
    const { id, tokenVersion } = replaced
    const sealed = this.answers.seal(id, tokenVersion, tokens)
    try {
      await within(KEEP_IN_POSTGRES_MS, this.answers.keep(id, tokenVersion, sealed))
      return 'postgres'
    } catch (err) {
      this.logger.warn({ err, integrationId: id }, 'could not keep the refresh answer in PostgreSQL; keeping it in Redis')
    }
    try {
      await within(KEEP_IN_REDIS_MS, this.redis.set(this.keys.keptRefreshAnswer(id, tokenVersion), sealed, 'PX', KEPT_IN_REDIS_FOR_MS))
      return 'redis'
    } catch (err) {
      this.logger.error({ err, integrationId: id }, 'neither PostgreSQL nor Redis kept the refresh answer: it lives only in this process until its write lands')
      return 'nowhere'
    }
  }

  /** The answer kept for the integration's current version: PostgreSQL first, then Redis. */
  async find (current: Integration): Promise<NewTokens | null> {
    const { id, tokenVersion } = current
    const inPostgres = await this.answers.find(id, tokenVersion)
    if (inPostgres) return inPostgres
    const sealed = await this.redis.get(this.keys.keptRefreshAnswer(id, tokenVersion))
    return sealed ? this.answers.open(id, tokenVersion, sealed) : null
  }

  /** Once the version they replace is written over, kept answers are spent; a leftover is harmless (never current again). */
  async forget (replaced: Integration): Promise<void> {
    const { id, tokenVersion } = replaced
    await Promise.all([
      this.answers.removeUpTo(id, tokenVersion),
      this.redis.del(this.keys.keptRefreshAnswer(id, tokenVersion)),
    ]).catch((err) => this.logger.warn({ err, integrationId: id }, 'could not remove a kept refresh answer'))
  }
}

/** `work` within `ms`, or a rejection; the work itself may still finish later (a second copy is harmless). */
async function within<T> (ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  work.catch(() => {}) // a late failure, after the race was lost, is nobody's to handle
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms) })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
