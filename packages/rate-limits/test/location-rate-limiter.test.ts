import t from 'tap'
import { createRedis } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { LocationRateLimiter } from '../src/location-rate-limiter.ts'

const redis = createRedis(TEST_REDIS_URL)
t.teardown(() => redis.quit())

t.test('a backlog is given slots that never put more than the limit in any window, and another location is untouched', async (t) => {
  const keys = new RedisKeys(uniqueRedisPrefix('rate'))
  const limiter = new LocationRateLimiter(redis, keys, { max: 90, intervalMs: 10_000 })
  const waits = await Promise.all(Array.from({ length: 300 }, (_, i) => limiter.reserve('busy-location', `m${i}`)))
  t.equal(waits.filter((w) => w === 0).length, 90, 'the first 90 go now')
  // The log's scores are the slots, on Redis's clock; a slot holds its place for one interval.
  const scored = await redis.zrange(keys.locationRateLog('busy-location'), 0, -1, 'WITHSCORES')
  const slots = scored.filter((_, i) => i % 2 === 1).map(Number)
  t.equal(slots.length, 300)
  const busiest = Math.max(...slots.map((from) => slots.filter((at) => at >= from && at < from + 10_000).length))
  t.equal(busiest, 90, 'no 10 s window holds more than 90 slots')
  t.ok(Math.max(...waits) >= 20_000, 'the 300th waits about two more windows')
  t.equal(await limiter.reserve('quiet-location', 'q1'), 0, 'another location has its own budget')
})

t.test('a job that comes back for its reserved slot gets it without taking another', async (t) => {
  const limiter = new LocationRateLimiter(redis, new RedisKeys(uniqueRedisPrefix('rate')), { max: 2, intervalMs: 300 })
  t.equal(await limiter.reserve('loc', 'a'), 0)
  t.equal(await limiter.reserve('loc', 'b'), 0)
  const wait = await limiter.reserve('loc', 'c')
  t.ok(wait > 0 && wait <= 330, 'the third waits for the window and its guard (a tenth of the interval)')
  t.equal(await limiter.reserve('loc', 'c') > 0, true, 'asking again early keeps the same reservation')
  await new Promise((resolve) => setTimeout(resolve, wait + 10))
  t.equal(await limiter.reserve('loc', 'c'), 0, 'at its slot it goes')
})

t.test('a caller that will not wait past its bound takes no slot, so its refused calls never push later ones back', async (t) => {
  const keys = new RedisKeys(uniqueRedisPrefix('rate'))
  const limiter = new LocationRateLimiter(redis, keys, { max: 2, intervalMs: 60_000 })
  t.equal(await limiter.reserve('loc', 'a'), 0)
  t.equal(await limiter.reserve('loc', 'b'), 0)
  for (let i = 0; i < 20; i++) {
    const refused = await limiter.take('loc', `proxy-${i}`, 1, { maxWaitMs: 1000 })
    t.ok(refused.waitMs > 1000, 'past the bound')
  }
  t.equal(await redis.zcard(keys.locationRateLog('loc')), 2, 'nothing was reserved')
  const sms = await limiter.reserve('loc', 'sms-1')
  t.ok(sms > 50_000 && sms <= 66_000, 'the next SMS waits one window (and its guard), not twenty more')
})
