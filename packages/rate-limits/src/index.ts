export { LocationRateLimiter, type LocationRateLimit, type SlotWait } from './location-rate-limiter.ts'
export { DailyLimit, type AnswerHeaders } from './daily-limit.ts'
