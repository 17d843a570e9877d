import t from 'tap'
import { budgetLeftMs, humanDuration, MAX_RETRY_DELAY_MS, nextRetry, rateLimitDelay, retryDelay } from '../src/sms/retry-policy.ts'

const policy = { retryForMs: 3_600_000, retryBaseMs: 2000 }

t.test('the backoff doubles from retryBaseMs, half to all of the step by the jitter', async (t) => {
  t.same([1, 2, 3, 4].map((n) => retryDelay(n, policy, 0)), [1000, 2000, 4000, 8000])
  t.same([1, 2, 3, 4].map((n) => retryDelay(n, policy, 0.5)), [1500, 3000, 6000, 12_000])
  t.same([1, 2, 3, 4].map((n) => retryDelay(n, policy, 0.9999)), [2000, 4000, 8000, 15_999])
})

t.test('the step is capped at 5 minutes however many attempts', async (t) => {
  t.equal(MAX_RETRY_DELAY_MS, 300_000)
  t.equal(retryDelay(20, policy, 0), 150_000)
  t.equal(retryDelay(20, policy, 0.9999), 299_985)
  t.equal(retryDelay(60, { retryForMs: 3_600_000, retryBaseMs: 60_000 }, 1), 300_000)
})

t.test('a server\'s hint is a floor, never shortened by the backoff', async (t) => {
  t.equal(retryDelay(1, policy, 0, 30_000), 30_000)
  t.equal(retryDelay(10, policy, 0, 30_000), 150_000)
})

t.test('the budget is time from the first failure, however many attempts', async (t) => {
  const now = Date.parse('2026-07-01T12:00:00Z')
  const since = (ms: number) => new Date(now - ms)
  t.equal(budgetLeftMs({ attempts: 0, retryingSince: null }, policy, now), 3_600_000, 'untouched before the first failure')
  t.equal(budgetLeftMs({ attempts: 3, retryingSince: since(600_000) }, policy, now), 3_000_000)
  t.equal(nextRetry({ attempts: 40, retryingSince: since(60_000) }, policy, now, 0), 150_000, '40 attempts in: still retried, the step capped')
  t.equal(nextRetry({ attempts: 2, retryingSince: since(3_600_000) }, policy, now, 0.5), null, 'spent exactly at the budget')
  t.equal(nextRetry({ attempts: 2, retryingSince: since(4_000_000) }, policy, now, 0.5), null)
})

t.test('a backoff that would overshoot the budget is cut, so the last try comes when it runs out', async (t) => {
  const now = Date.parse('2026-07-01T12:00:00Z')
  t.equal(nextRetry({ attempts: 20, retryingSince: new Date(now - 3_590_000) }, policy, now, 0.9), 10_000)
  t.equal(nextRetry({ attempts: 20, retryingSince: new Date(now - 3_590_000) }, policy, now, 0.9, 30_000), 30_000, 'a server\'s hint still wins')
  t.equal(nextRetry({ attempts: 1, retryingSince: new Date(now) }, policy, now, 0), 1000, 'the first retry after the first failure')
})

t.test('durations read as a person says them', async (t) => {
  t.same([45_000, 600_000, 3_600_000, 86_400_000].map(humanDuration), ['45 s', '10 min', '60 min', '24 h'])
})

t.test('a 429 waits HighLevel\'s interval plus 0-20%, 10 s when it gave none', async (t) => {
  t.equal(rateLimitDelay(5000, 0), 5000)
  t.equal(rateLimitDelay(5000, 0.5), 5500)
  t.equal(rateLimitDelay(5000, 0.9999), 6000)
  t.equal(rateLimitDelay(undefined, 0), 10_000)
  t.equal(rateLimitDelay(undefined, 0.25), 10_500)
})
