/**
 * The invalidation feed on both kinds of Redis the services run on: a message published by one
 * process reaches another's listeners once its subscription is live, on a single Redis and on a
 * Redis Cluster; a feed closed while its subscriber is still connecting stays closed and says
 * nothing (a process stopping right after it started must not log a failure).
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { createLogger } from '@ghl-connect/logging'
import { eventually, logCapture, startRedisCluster, TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { InvalidationFeed } from '../src/invalidation-feed.ts'

const channel = `${uniqueRedisPrefix('feed')}:changed`

function feedsOn (t: Test, connect: () => Redis) {
  const log = logCapture()
  const logger = createLogger({ level: 'debug', destination: log.stream })
  const open = (): { feed: InvalidationFeed, heard: string[], resets: () => number } => {
    const redis = connect()
    const feed = new InvalidationFeed(redis, channel, logger)
    const heard: string[] = []
    let resets = 0
    feed.listen({ onMessage: (m) => heard.push(m), onReset: () => { resets++ } })
    t.teardown(async () => { await feed.close(); redis.disconnect() })
    return { feed, heard, resets: () => resets }
  }
  return { open, log }
}

async function heardAcross (t: Test, connect: () => Redis) {
  const { open, log } = feedsOn(t, connect)
  const writer = open()
  const reader = open()
  await eventually('both subscriptions live', () => writer.feed.live && reader.feed.live)
  const generation = reader.feed.generation
  const published = writer.feed.publish('client:acme')
  t.same(writer.heard, ['client:acme'], 'the writer\'s own listeners are told at once')
  await published
  await eventually('the other process to hear it', () => reader.heard.length === 1)
  t.same(reader.heard, ['client:acme'])
  t.ok(reader.feed.generation > generation, 'a message moves the generation')
  await reader.feed.close()
  t.notOk(reader.feed.live, 'closed: nothing kept can be trusted')
  t.ok(reader.resets() >= 1, 'and its listeners were told to drop everything')

  // Closed while its subscriber connects (a process stopped as soon as it started), at several
  // points of the connection's way to its subscription.
  const early = []
  for (const ms of [0, 1, 2, 5, 10, 20]) {
    const feed = open()
    await new Promise((resolve) => setTimeout(resolve, ms))
    await feed.feed.close()
    early.push(feed)
  }
  await writer.feed.publish('client:later')
  // Told at once, then again through Redis: once the echo is back, Redis has delivered it to every subscriber.
  await eventually('the message back through Redis', () => writer.heard.filter((m) => m === 'client:later').length === 2)
  t.notOk(early.some((e) => e.feed.live), 'none goes live after close')
  t.same(early.flatMap((e) => e.heard), [], 'nor hears anything')
  t.same(log.records().filter((r) => Number(r.level) >= 40).map((r) => r.msg), [], 'and nothing was logged as a warning')
}

t.test('on a single Redis', (t) => heardAcross(t, () => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })))

t.test('on a Redis Cluster', async (t) => {
  const cluster = await startRedisCluster({ masters: 3 })
  t.teardown(() => cluster.destroy())
  await heardAcross(t, () => cluster.connect() as unknown as Redis)
})
