/** What other workspace packages (bench) use of the worker in their own process. */
export { TokenSweep, type SweepResult } from './tokens/token-sweep.ts'
export { LocationRateLimiter } from './rate-limits/location-rate-limiter.ts'
