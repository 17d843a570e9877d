import t from 'tap'
import { attemptsExhausted, MAX_RETRY_DELAY_MS, rateLimitDelay, retryDelay } from '../src/sms/retry-policy.ts'

const policy = { maxAttempts: 5, retryBaseMs: 2000 }

t.test('the backoff doubles from retryBaseMs, half to all of the step by the jitter', async (t) => {
  t.same([1, 2, 3, 4].map((n) => retryDelay(n, policy, 0)), [1000, 2000, 4000, 8000])
  t.same([1, 2, 3, 4].map((n) => retryDelay(n, policy, 0.5)), [1500, 3000, 6000, 12_000])
  t.same([1, 2, 3, 4].map((n) => retryDelay(n, policy, 0.9999)), [2000, 4000, 8000, 15_999])
})

t.test('the step is capped at 5 minutes however many attempts', async (t) => {
  t.equal(MAX_RETRY_DELAY_MS, 300_000)
  t.equal(retryDelay(20, policy, 0), 150_000)
  t.equal(retryDelay(20, policy, 0.9999), 299_985)
  t.equal(retryDelay(60, { maxAttempts: 100, retryBaseMs: 60_000 }, 1), 300_000)
})

t.test('a server\'s hint is a floor, never shortened by the backoff', async (t) => {
  t.equal(retryDelay(1, policy, 0, 30_000), 30_000)
  t.equal(retryDelay(10, policy, 0, 30_000), 150_000)
})

t.test('attempts run out at maxAttempts', async (t) => {
  t.notOk(attemptsExhausted(4, policy))
  t.ok(attemptsExhausted(5, policy))
  t.ok(attemptsExhausted(6, policy))
})

t.test('a 429 waits HighLevel\'s interval plus 0-20%, 10 s when it gave none', async (t) => {
  t.equal(rateLimitDelay(5000, 0), 5000)
  t.equal(rateLimitDelay(5000, 0.5), 5500)
  t.equal(rateLimitDelay(5000, 0.9999), 6000)
  t.equal(rateLimitDelay(undefined, 0), 10_000)
  t.equal(rateLimitDelay(undefined, 0.25), 10_500)
})
