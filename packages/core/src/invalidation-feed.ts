/**
 * What a process keeps in memory and must drop when another process changes it (a client's
 * settings, a client's credential), told over one Redis pub/sub channel per kind of thing.
 *
 * The copies are trusted only while the subscription is live: from a disconnect until it is
 * subscribed again `live` is false, and every listener is told to drop everything (`onReset`),
 * so a message published meanwhile is not missed. `generation` moves with every message and
 * reset: a read that began under another generation must not store what it read (a slow read of
 * the old row would otherwise refill a cache after the message that emptied it).
 *
 * The bound: a replica can use an old copy after the writer's `publish` returned only for the
 * time Redis takes to deliver the message (milliseconds on one network).
 */
import type { Cluster, Redis } from 'ioredis'
import type { Logger } from '@ghl-connect/logging'

export interface InvalidationListener {
  onMessage: (message: string) => void
  onReset: () => void
}

export class InvalidationFeed {
  private liveNow = false
  private generationNow = 0
  private readonly listeners: InvalidationListener[] = []
  private subscriber: Redis | null = null
  private closed = false

  constructor (private readonly redis: Redis, private readonly channel: string, private readonly logger: Logger) {}

  get live (): boolean { return this.liveNow }
  get generation (): number { return this.generationNow }

  /** The first listener subscribes: a process that only publishes (the worker) holds no subscription. */
  listen (listener: InvalidationListener): void {
    this.listeners.push(listener)
    if (!this.subscriber) this.subscribe()
  }

  private subscribe (): void {
    // A connection of its own: a subscribed connection can do nothing else. A Cluster's duplicate
    // takes its startup nodes first: given only options it would keep its own and connect at once.
    const subscriber = this.redis.isCluster
      ? (this.redis as unknown as Cluster).duplicate([], { lazyConnect: true }) as unknown as Redis
      : this.redis.duplicate({ lazyConnect: true, maxRetriesPerRequest: null })
    subscriber.on('message', (from: string, message: string) => {
      if (from !== this.channel || this.closed) return
      this.generationNow++
      for (const listener of this.listeners) listener.onMessage(message)
    })
    // Not subscribed: no message can reach us, so nothing kept can be trusted.
    subscriber.on('close', () => this.reset())
    subscriber.on('ready', () => {
      // A connection that came up although the feed was closed while it connected: closed again, so it holds no process open.
      if (this.closed) { subscriber.disconnect(); return }
      subscriber.subscribe(this.channel).then(() => { this.liveNow = !this.closed }, (err: unknown) => {
        if (this.closed) return // closed while connecting: nothing to warn about
        this.logger.warn({ err, channel: this.channel }, 'could not subscribe to invalidations; reading from PostgreSQL every time')
      })
    })
    subscriber.on('error', () => { /* ioredis reconnects; 'close' already reset the listeners */ })
    subscriber.connect().catch(() => { /* retried by ioredis */ })
    this.subscriber = subscriber
  }

  /** Tells every process (this one at once, before Redis is asked) that `message`'s subject changed. */
  async publish (message: string): Promise<void> {
    this.generationNow++
    for (const listener of this.listeners) listener.onMessage(message)
    await this.redis.publish(this.channel, message)
  }

  async close (): Promise<void> {
    this.closed = true
    this.reset()
    this.subscriber?.disconnect()
  }

  private reset (): void {
    this.liveNow = false
    this.generationNow++
    for (const listener of this.listeners) listener.onReset()
  }
}
