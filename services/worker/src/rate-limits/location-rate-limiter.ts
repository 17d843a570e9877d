/**
 * HighLevel allows 100 requests per 10 s per location per app (a sliding window). Every worker
 * process shares one log per location in Redis and keeps a little under that (GHL_RATE_LIMIT_MAX
 * per GHL_RATE_LIMIT_INTERVAL_MS), so a busy tenant is paced here instead of collecting 429s.
 *
 * A message that finds the window full does not just wait and try again (with a backlog of
 * thousands that would wake every job at once, over and over): it reserves the first free slot
 * in the log and the job is delayed until then. When it runs again it uses its reservation
 * instead of taking another slot. The Lua script is the whole algorithm, run atomically with
 * Redis's clock, so processes on different hosts agree.
 */
import type { Redis, Result } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'

const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reserved = redis.call('GET', KEYS[2])
if reserved then
  local at = tonumber(reserved)
  if at <= now + tonumber(ARGV[5]) then
    redis.call('DEL', KEYS[2])
    return 0
  end
  return at - now
end
local max, interval, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - interval)
local at = now
for i = 1, cost do
  local n = redis.call('ZCARD', KEYS[1])
  if n >= max then
    -- the log is sorted and never holds more than max per window: the new entry goes one
    -- interval after the max-th newest, which is after every entry already there
    local e = redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')
    local slot = tonumber(e[2]) + interval
    if slot > at then at = slot end
  end
  redis.call('ZADD', KEYS[1], at, ARGV[4] .. '#' .. i)
end
redis.call('PEXPIRE', KEYS[1], at - now + interval)
if at > now then
  redis.call('SET', KEYS[2], at, 'PX', at - now + tonumber(ARGV[6]))
  return at - now
end
return 0
`

export interface LocationRateLimit { max: number, intervalMs: number }

export class LocationRateLimiter {
  constructor (
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly limit: LocationRateLimit,
  ) {
    if (!redis.reserveLocationSlot) redis.defineCommand('reserveLocationSlot', { numberOfKeys: 2, lua: RESERVE })
  }

  /**
   * Takes `cost` requests of `locationId`'s budget for `holder` (a message id). 0: go now;
   * otherwise the milliseconds until the slot reserved for `holder`, which it gets by asking
   * again then.
   */
  async reserve (locationId: string, holder: string, cost = 1): Promise<number> {
    const log = this.keys.locationRateLog(locationId)
    const reservation = this.keys.locationRateSlot(locationId, holder)
    // A reservation not claimed within an hour belongs to a job that is gone.
    const wait = await this.redis.reserveLocationSlot(log, reservation, this.limit.max, this.limit.intervalMs,
      Math.min(Math.max(1, cost), this.limit.max), holder, 25, 3600_000)
    return Number(wait)
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reserveLocationSlot: (log: string, reservation: string, max: number, intervalMs: number, cost: number,
      holder: string, graceMs: number, reservationTtlMs: number) => Result<number, Context>
  }
}
