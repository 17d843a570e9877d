import t from 'tap'
import { createQueues, createRedis, SmsDispatcher } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'

const redis = createRedis(TEST_REDIS_URL)
const keys = new RedisKeys(uniqueRedisPrefix('backlog'))
const queues = createQueues(redis, keys)
const dispatcher = new SmsDispatcher(queues.sms, redis, keys)
t.teardown(async () => {
  await queues.close()
  await redis.quit()
})

const backlog = async (clientId: string) => redis.get(keys.smsBacklog(clientId))

t.test('a group of messages leaves its clients\' backlogs in one call, each message counted once, none below zero', async (t) => {
  await redis.set(keys.smsBacklog('busy'), 5)
  await redis.set(keys.smsBacklog('quiet'), 1)
  // busy's messages three times, quiet's once, and one of a client whose counter Redis lost.
  await dispatcher.settledMany(['busy', 'quiet', 'busy', 'lost', 'busy'])
  t.equal(await backlog('busy'), '2', 'busy: 5 less 3')
  t.equal(await backlog('quiet'), null, 'quiet: down to nothing, the key gone')
  t.equal(await backlog('lost'), null, 'a lost counter stays gone, not -1')
  await dispatcher.settledMany(['busy', 'busy', 'busy'])
  t.equal(await backlog('busy'), null, 'more settles than messages counted: gone, never negative')
  t.same(await dispatcher.settledMany([]), [], 'an empty group asks Redis nothing')
})

t.test('one message at a time settles the same way', async (t) => {
  await redis.set(keys.smsBacklog('single'), 2)
  await dispatcher.settled('single')
  t.equal(await backlog('single'), '1')
  await dispatcher.settled('single')
  t.equal(await backlog('single'), null)
})
