/**
 * HighLevel's limit per app per location: a burst of `max` requests per `intervalMs` (sliding)
 * and a daily quota. Only requests let through count; a refused one does not spend the budget.
 */
import type { Clock } from './clock.ts'

export interface RateLimitSettings {
  max: number
  intervalMs: number
  daily: number
}

export const DEFAULT_RATE_LIMIT: RateLimitSettings = { max: 100, intervalMs: 10_000, daily: 200_000 }

export interface RateLimitVerdict {
  allowed: boolean
  headers: Record<string, string>
  /** When refused: how long until a slot frees up. */
  waitMs: number
  /** Refused because the day's budget is spent: seconds until the next UTC day (sent as Retry-After). */
  dailyResetSeconds?: number
}

export class RateLimiter {
  private readonly windows = new Map<string, number[]>()
  private readonly days = new Map<string, { day: string, count: number }>()

  constructor (private readonly clock: Clock, public settings: RateLimitSettings = { ...DEFAULT_RATE_LIMIT }) {}

  take (key: string): RateLimitVerdict {
    const now = this.clock.now()
    const { max, intervalMs, daily } = this.settings
    const recent = (this.windows.get(key) ?? []).filter((at) => at > now - intervalMs)
    const today = new Date(now).toISOString().slice(0, 10)
    const day = this.days.get(key)
    const usedToday = day && day.day === today ? day.count : 0

    const allowed = recent.length < max && usedToday < daily
    if (allowed) {
      recent.push(now)
      this.days.set(key, { day: today, count: usedToday + 1 })
    }
    this.windows.set(key, recent)
    const dailyUsed = allowed ? usedToday + 1 : usedToday
    const oldest = recent[0] ?? now
    const nextDay = new Date(now)
    nextDay.setUTCHours(24, 0, 0, 0)
    return {
      allowed,
      waitMs: allowed ? 0 : Math.max(1, oldest + intervalMs - now),
      ...(!allowed && usedToday >= daily ? { dailyResetSeconds: Math.max(1, Math.ceil((nextDay.getTime() - now) / 1000)) } : {}),
      headers: {
        'x-ratelimit-max': String(max),
        'x-ratelimit-remaining': String(Math.max(0, max - recent.length)),
        'x-ratelimit-interval-milliseconds': String(intervalMs),
        'x-ratelimit-limit-daily': String(daily),
        'x-ratelimit-daily-remaining': String(Math.max(0, daily - dailyUsed)),
      },
    }
  }

  /** Spends what is left of `key`'s budget for today. */
  exhaustDaily (key: string): void {
    this.days.set(key, { day: new Date(this.clock.now()).toISOString().slice(0, 10), count: this.settings.daily })
  }

  reset (settings?: Partial<RateLimitSettings>): void {
    this.windows.clear()
    this.days.clear()
    if (settings) this.settings = { ...this.settings, ...settings }
  }
}
