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
 *
 * A slot is given one interval and a guard (a tenth of the interval) after the call it follows:
 * the log holds when calls may leave, HighLevel counts when they arrive, and a burst released at
 * once arrives spread over a few hundred milliseconds; without the guard, the next window's
 * calls, leaving on time, would meet the burst's late arrivals in HighLevel's window.
 *
 * The api's HighLevel proxy takes its slots here too, so the CRM's own calls and our SMS share
 * one budget per location. A location whose daily budget is spent (daily-limit.ts) gets no slot
 * at all until HighLevel's day resets: the wait is the time left.
 */
import type { Redis, Result } from 'ioredis'
import type { RedisKeys } from '@ghl-connect/redis-keys'

const RESERVE = `
local spent = redis.call('PTTL', KEYS[3])
if spent > 0 then return {spent, 1} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reserved = redis.call('GET', KEYS[2])
if reserved then
  local at = tonumber(reserved)
  if at <= now + tonumber(ARGV[5]) then
    redis.call('DEL', KEYS[2])
    return {0, 0}
  end
  return {at - now, 0}
end
local max, interval, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - interval)
local maxWait = tonumber(ARGV[8])
if maxWait > 0 then
  -- a caller that will not wait this long takes nothing: a refused call must not push later ones back
  local n = redis.call('ZCARD', KEYS[1])
  if n >= max then
    local e = redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')
    local slot = tonumber(e[2]) + interval + tonumber(ARGV[7])
    if slot - now > maxWait then return {slot - now, 0} end
  end
end
local at = now
for i = 1, cost do
  local n = redis.call('ZCARD', KEYS[1])
  if n >= max then
    -- the log is sorted and never holds more than max per window: the new entry goes one
    -- interval after the max-th newest, which is after every entry already there
    local e = redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')
    local slot = tonumber(e[2]) + interval + tonumber(ARGV[7])
    if slot > at then at = slot end
  end
  redis.call('ZADD', KEYS[1], at, ARGV[4] .. '#' .. i)
end
redis.call('PEXPIRE', KEYS[1], at - now + interval)
if at > now then
  redis.call('SET', KEYS[2], at, 'PX', at - now + tonumber(ARGV[6]))
  return {at - now, 0}
end
return {0, 0}
`

export interface LocationRateLimit { max: number, intervalMs: number }

/** `waitMs` 0: go now. `dailySpent`: the location's daily budget is spent and `waitMs` runs to its reset. */
export interface SlotWait { waitMs: number, dailySpent: boolean }

export class LocationRateLimiter {
  constructor (
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly limit: LocationRateLimit,
  ) {
    if (!redis.reserveLocationSlot) redis.defineCommand('reserveLocationSlot', { numberOfKeys: 3, lua: RESERVE })
  }

  /**
   * Takes `cost` requests of `locationId`'s budget for `holder` (a message id). 0: go now;
   * otherwise the milliseconds until the slot reserved for `holder`, which it gets by asking
   * again then.
   */
  async reserve (locationId: string, holder: string, cost = 1): Promise<number> {
    return (await this.take(locationId, holder, cost)).waitMs
  }

  /**
   * Reserves a slot for `holder` and resolves when it comes: for calls that must be made, only
   * paced (an agency's mints, kept in its company's log: HighLevel limits a company like a
   * location). With `maxWaitMs`, a slot further off is not taken: false, and nothing reserved.
   */
  async waitForSlot (locationId: string, holder: string, { maxWaitMs = 0 }: { maxWaitMs?: number } = {}): Promise<boolean> {
    for (;;) {
      const { waitMs } = await this.take(locationId, holder, 1, { maxWaitMs })
      if (waitMs <= 0) return true
      if (maxWaitMs > 0 && waitMs > maxWaitMs) return false
      await new Promise((resolve) => setTimeout(resolve, waitMs))
    }
  }

  /**
   * `reserve`, saying whether the wait is the daily budget's (nothing was reserved then). With
   * `maxWaitMs`, a slot further off than that is not reserved either (the caller gives up).
   */
  async take (locationId: string, holder: string, cost = 1, { maxWaitMs = 0 }: { maxWaitMs?: number } = {}): Promise<SlotWait> {
    const log = this.keys.locationRateLog(locationId)
    const reservation = this.keys.locationRateSlot(locationId, holder)
    // A reservation not claimed within an hour belongs to a job that is gone.
    const [wait, daily] = await this.redis.reserveLocationSlot(log, reservation, this.keys.locationDailySpent(locationId),
      this.limit.max, this.limit.intervalMs, Math.min(Math.max(1, cost), this.limit.max), holder, 25, 3600_000, Math.round(this.limit.intervalMs / 10), maxWaitMs)
    return { waitMs: Number(wait), dailySpent: Number(daily) === 1 }
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    reserveLocationSlot: (log: string, reservation: string, dailySpent: string, max: number, intervalMs: number, cost: number,
      holder: string, graceMs: number, reservationTtlMs: number, guardMs: number, maxWaitMs: number) => Result<[number, number], Context>
  }
}
