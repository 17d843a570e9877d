/**
 * The client settings the intake reads for every SMS (quiet hours, default sender), kept in
 * memory per api replica instead of one PostgreSQL read per request.
 *
 * Honest across replicas: a PUT publishes the client's id on a Redis channel
 * (RedisKeys.clientSettingsChanged) before it answers, and every replica's subscriber drops its
 * copy on receipt. The bound: a replica can read the old settings after a PUT's answer only for
 * the time Redis takes to deliver that message (milliseconds on one network). The cache serves
 * only while its subscription is live: from a disconnect until it is subscribed again it reads
 * PostgreSQL every time and starts empty, so a change published meanwhile is not missed. A PUT
 * whose publish fails (Redis down) still answers; the copies then age out after SETTINGS_TTL_MS,
 * the worst case.
 *
 * A read that began before an invalidation does not store what it read (the generation check),
 * so a slow read of the old row cannot refill the cache after the PUT's message. The channel,
 * its liveness and generations are @ghl-connect/core's InvalidationFeed, shared with the
 * credential cache.
 */
import type { ClientSettings, ClientSettingsRepository } from '@ghl-connect/db'
import type { InvalidationFeed } from '@ghl-connect/core'
import type { Logger } from '@ghl-connect/logging'

/** The worst case, when the PUT could not publish: a copy is read again after this long. */
export const SETTINGS_TTL_MS = 10_000
const KEPT_MAX = 10_000

export class ClientSettingsCache {
  private readonly kept = new Map<string, { settings: ClientSettings, readAt: number }>()

  /** `changes`: the feed on RedisKeys.clientSettingsChanged (its liveness and generations, invalidation-feed.ts). */
  constructor (private readonly settings: Pick<ClientSettingsRepository, 'find' | 'put'>, private readonly changes: InvalidationFeed, private readonly logger: Logger) {
    changes.listen({ onMessage: (clientId) => this.kept.delete(clientId), onReset: () => this.kept.clear() })
  }

  async find (clientId: string, now = Date.now()): Promise<ClientSettings> {
    const hit = this.changes.live ? this.kept.get(clientId) : undefined
    if (hit && now - hit.readAt < SETTINGS_TTL_MS) return hit.settings
    const generation = this.changes.generation
    const settings = await this.settings.find(clientId)
    if (this.changes.live && generation === this.changes.generation) {
      if (this.kept.size >= KEPT_MAX) this.kept.clear()
      this.kept.set(clientId, { settings, readAt: now })
    }
    return settings
  }

  /** Writes the settings, then tells every replica (this one at once) before the caller answers. */
  async put (clientId: string, wanted: ClientSettings): Promise<ClientSettings> {
    const stored = await this.settings.put(clientId, wanted)
    await this.changes.publish(clientId).catch((err: unknown) => {
      this.logger.warn({ err, clientId }, `client settings stored but the other api replicas could not be told (Redis); they read them again within ${SETTINGS_TTL_MS / 1000} s`)
    })
    return stored
  }
}
