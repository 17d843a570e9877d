import t from 'tap'
import { createRedis } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { RedisLock } from '../src/index.ts'

const redis = createRedis(TEST_REDIS_URL)
t.teardown(() => redis.quit())
const keys = new RedisKeys(uniqueRedisPrefix('lock'))
const lock = new RedisLock(redis)

t.test('only one of many concurrent callers holds the lock', async (t) => {
  const leases = await Promise.all(Array.from({ length: 20 }, () => lock.tryAcquire(keys.refreshLock('client-a'), 5000)))
  t.equal(leases.filter(Boolean).length, 1)
  await leases.find(Boolean)!.release()
})

t.test('a holder whose lease expired cannot release the next holder\'s lock', async (t) => {
  const first = await lock.tryAcquire(keys.refreshLock('client-b'), 50)
  t.ok(first)
  await new Promise((r) => setTimeout(r, 80))
  const second = await lock.tryAcquire(keys.refreshLock('client-b'), 5000)
  t.ok(second, 'the expired lease frees the lock')
  t.equal(await first!.release(), false, 'compare-and-delete refuses a foreign owner')
  t.equal(await lock.tryAcquire(keys.refreshLock('client-b'), 5000), null, 'the second holder still holds it')
  t.equal(await second!.release(), true)
})

t.test('waiters get the lock in turn once it is released, and give up after their bound', async (t) => {
  const holder = await lock.tryAcquire(keys.refreshLock('client-c'), 5000)
  const waiter = lock.acquire(keys.refreshLock('client-c'), 5000, 3000)
  setTimeout(() => void holder!.release(), 100)
  const lease = await waiter
  t.ok(lease, 'the waiter got it after the release')
  t.equal(await lock.acquire(keys.refreshLock('client-c'), 5000, 100), null, 'a bounded wait ends empty-handed')
  await lease!.release()
})

t.test('a SET replayed after a failover (the first one landed, its answer lost) still gives the caller its lock', async (t) => {
  // What ioredis's Cluster does when a master dies between running the SET and answering: it sends it again.
  const replaying = new Proxy(redis, {
    get: (target, name, receiver) => name === 'set'
      ? async (...args: unknown[]) => { await (target.set as (...a: unknown[]) => Promise<unknown>)(...args); return (target.set as (...a: unknown[]) => Promise<unknown>)(...args) }
      : Reflect.get(target, name, receiver),
  })
  const lease = await new RedisLock(replaying).tryAcquire(keys.refreshLock('client-d'), 5000)
  t.ok(lease, 'the replay\'s nil is not taken for another holder')
  t.equal(await lock.tryAcquire(keys.refreshLock('client-d'), 5000), null, 'and nobody else gets it')
  t.equal(await lease!.release(), true, 'the caller can release what it holds')
})
