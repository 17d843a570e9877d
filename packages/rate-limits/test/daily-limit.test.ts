import t from 'tap'
import { createLogger } from '@ghl-connect/logging'
import { createRedis } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { DailyLimit, LocationRateLimiter } from '../src/index.ts'

const redis = createRedis(TEST_REDIS_URL)
t.teardown(() => redis.quit())
const rateLimit = (dailyRemaining: number) => ({ max: 100, remaining: 50, intervalMs: 10_000, dailyLimit: 200_000, dailyRemaining })

t.test('an answer saying the daily budget is spent stops the location\'s slots until the reset; another location and a budget left change nothing', async (t) => {
  const keys = new RedisKeys(uniqueRedisPrefix('daily'))
  const daily = new DailyLimit(redis, keys, createLogger({ level: 'silent' }))
  const limiter = new LocationRateLimiter(redis, keys, { max: 90, intervalMs: 10_000 })
  await daily.observe('loc-a', rateLimit(5), {})
  t.same(await limiter.take('loc-a', 'm1'), { waitMs: 0, dailySpent: false }, 'budget left: slots as usual')
  await daily.observe('loc-a', rateLimit(0), { 'retry-after': '120' })
  const spent = await limiter.take('loc-a', 'm2')
  t.equal(spent.dailySpent, true)
  t.ok(spent.waitMs > 110_000 && spent.waitMs <= 120_000, 'the wait runs to the reset HighLevel gave')
  t.equal(await redis.zcard(keys.locationRateLog('loc-a')), 1, 'no slot was taken while spent')
  t.same(await limiter.take('loc-b', 'm3'), { waitMs: 0, dailySpent: false }, 'another location is untouched')
  await daily.observe('loc-c', rateLimit(0), {})
  const untilMidnight = (await limiter.take('loc-c', 'm4')).waitMs
  const now = new Date()
  t.ok(Math.abs(untilMidnight - (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime())) < 5000, 'without Retry-After: the next UTC midnight')
})
