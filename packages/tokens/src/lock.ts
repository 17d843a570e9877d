/**
 * The per-client lock around refresh. HighLevel's refresh tokens are single-use, so two holders
 * at once would burn one and disconnect the tenant. The owner value makes release safe: a holder
 * whose TTL ran out cannot delete the next holder's lock. The lock queues a client's callers
 * cheaply; since its key can be lost (failover, FLUSHALL), the spending itself is fenced in
 * PostgreSQL (refresh-fence.ts).
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

export interface Lease { key: string, owner: string, release: () => Promise<boolean> }

export class RedisLock {
  constructor (private readonly redis: Redis) {}

  /** `key`: the lock's full Redis key, from RedisKeys. */
  async tryAcquire (key: string, ttlMs: number): Promise<Lease | null> {
    const owner = randomBytes(16).toString('hex')
    const ok = await this.redis.set(key, owner, 'PX', ttlMs, 'NX')
    // A Redis Cluster client replays a command whose connection closed during a failover: when the
    // first SET landed, the replay answers nil though the lock is ours. The owner value tells.
    if (ok !== 'OK' && await this.redis.get(key) !== owner) return null
    return { key, owner, release: async () => (await this.redis.eval(RELEASE, 1, key, owner)) === 1 }
  }

  /** Waits (bounded) for the lock; null when it stayed taken for the whole wait. */
  async acquire (key: string, ttlMs: number, waitMs: number): Promise<Lease | null> {
    const deadline = Date.now() + waitMs
    for (;;) {
      const lease = await this.tryAcquire(key, ttlMs)
      if (lease || Date.now() >= deadline) return lease
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 40))
    }
  }
}
