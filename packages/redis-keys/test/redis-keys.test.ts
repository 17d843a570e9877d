import t from 'tap'
import { RedisKeys } from '@ghl-connect/redis-keys'

t.test("a client id with ':' or '*' stays inside its own key: no extra segment, no pattern character", async (t) => {
  const keys = new RedisKeys('ghl')
  for (const build of [keys.refreshLock, keys.refreshCooldown, keys.smsBacklog, keys.pendingOAuthStates, keys.apiKeyRateLimit]) {
    const plain = build.call(keys, 'client')
    const hostile = build.call(keys, 'client:*')
    t.equal(hostile.split(':').length, plain.split(':').length, `${hostile} has as many segments as ${plain}`)
    t.notOk(hostile.includes('*'), `${hostile} cannot widen a SCAN pattern`)
    t.not(hostile, plain)
  }
})

t.test('every key of a deployment matches its pattern, and no two concerns share a key', async (t) => {
  const keys = new RedisKeys('tenant-a')
  const all = [keys.refreshLock('c'), keys.refreshCooldown('c'), keys.oauthState('c'), keys.pendingOAuthStates('c'), `${keys.rateLimitNamespace}c`, keys.apiKeyRateLimit('c'),
    keys.locationRateLog('c'), keys.locationRateSlot('c'), keys.smsBacklog('c'), keys.smsSentReceipt('c'), keys.keptRefreshAnswer('c', 1), `${keys.bullPrefix}:sms:c`]
  const pattern = new RegExp(`^${keys.everyKeyPattern.replace('*', '.*')}$`)
  for (const key of all) t.match(key, pattern)
  t.equal(new Set(all).size, all.length)
})
