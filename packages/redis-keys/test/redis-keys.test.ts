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
    keys.locationRateLog('c'), keys.locationRateSlot('c', 'c'), keys.smsBacklog('c'), keys.smsSentReceipt('c'), keys.keptRefreshAnswer('c', 1), `${keys.bullPrefix('sms')}:sms:c`]
  const pattern = new RegExp(`^${keys.everyKeyPattern.replace('*', '.*')}$`)
  for (const key of all) t.match(key, pattern)
  t.equal(new Set(all).size, all.length)
})

/** Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag, or of the whole key without one, mod 16384. */
function slotOf (key: string): number {
  const open = key.indexOf('{')
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key
  let crc = 0
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}

t.test('on Redis Cluster, the keys one script or MULTI touches share a slot, and the queues spread over slots', async (t) => {
  t.equal(slotOf('123456789'), 12739, 'the CRC16 of the Redis Cluster specification')
  const keys = new RedisKeys('ghl')
  const queueKey = (queue: string, suffix: string) => `${keys.bullPrefix(queue)}:${queue}:${suffix}`
  for (const queue of ['sms', 'tokens', 'outbox', 'crm-events']) {
    const slots = new Set(['wait', 'prioritized', 'delayed', 'active', 'meta', 'events', 'pc', 'marker', 'id', 'sms-00000000-0000-0000-0000-000000000000'].map((s) => slotOf(queueKey(queue, s))))
    t.equal(slots.size, 1, `BullMQ's keys of queue ${queue} are in one slot`)
  }
  t.equal(new Set(['sms', 'tokens', 'outbox', 'crm-events'].map((q) => slotOf(queueKey(q, 'wait')))).size, 4, 'each queue in a slot of its own')
  for (const client of ['acme', 'a{b}c', 'x}:{y', '*']) {
    t.equal(slotOf(keys.smsBacklog(client)), slotOf(queueKey('sms', 'prioritized')), `the backlog of client ${client} sits with the SMS queue`)
  }
  t.equal(new Set(['loc-1', 'loc-2', 'loc-3'].map((l) => slotOf(keys.locationRateLog(l)))).size, 3, 'locations spread over slots')
  for (const location of ['sbxLocation000000001', 've9EPM428h8vShlRW1KT']) {
    t.equal(slotOf(keys.locationRateSlot(location, 'c0ffee:search-page-2')), slotOf(keys.locationRateLog(location)), `a reservation sits with its location's log (${location})`)
  }
})
