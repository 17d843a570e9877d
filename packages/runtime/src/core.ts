/**
 * What the api and the worker both run on, built once per process from the configuration: the
 * PostgreSQL pool and repositories, the Redis connection and key layout, the queues and the SMS
 * dispatcher, the HighLevel client, metrics and the one TokenService. Tests and bench build it the
 * same way; `close` ends it in reverse order.
 */
import type { RedisOptions, Redis } from 'ioredis'
import type { WorkerConfig } from '@ghl-connect/config'
import {
  createDatabase, IntegrationsRepository, SmsMessagesRepository, TokenCipher, TokenRefreshAnswersRepository, TokenRefreshLeasesRepository,
  type DatabaseHandle,
} from '@ghl-connect/db'
import { GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { createMetrics, timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { createQueues, createRedis, crmEventPublisher, SmsDispatcher, type CrmEventPublisher, type Queues } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { ghlTokenEndpoint, TokenService, type ConnectionEvent, type TokenEndpoint } from '@ghl-connect/tokens'

/** The sections every process with a database, Redis and HighLevel loads (api and worker alike). */
export type CoreConfig = Pick<WorkerConfig, 'runtime' | 'database' | 'redis' | 'encryption' | 'tokens' | 'ghl' | 'crmEvents'>

export interface Core {
  logger: Logger
  metrics: Metrics
  database: DatabaseHandle
  redis: Redis
  keys: RedisKeys
  queues: Queues
  ghl: GhlClient
  integrations: IntegrationsRepository
  smsMessages: SmsMessagesRepository
  dispatcher: SmsDispatcher
  tokenService: TokenService
  /** Queues a signed event for the CRM; a no-op without CRM_WEBHOOK_URL. */
  publishEvent: CrmEventPublisher
  /** Readiness checks of the two backends, for a process's /readyz. */
  probes: { postgres: () => Promise<unknown>, redis: () => Promise<unknown> }
  close: () => Promise<void>
}

export interface CoreOptions {
  service: 'api' | 'worker'
  /** ioredis options over the defaults (the api fails fast instead of queueing commands while Redis is down). */
  redis?: RedisOptions
}

export function createCore (config: CoreConfig, logger: Logger, opts: CoreOptions): Core {
  const metrics = createMetrics(opts.service, { processMetrics: config.runtime.nodeEnv !== 'test' })
  const database = createDatabase({ url: config.database.url, poolSize: config.database.poolSize })
  const redis = createRedis(config.redis.url, opts.redis)
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'))
  const keys = new RedisKeys(config.redis.keyPrefix)
  const queues = createQueues(redis, keys, (err) => logger.warn({ err }, 'queue error'))
  const publishEvent = crmEventPublisher(queues, config.crmEvents)
  const cipher = new TokenCipher(config.encryption.keys)
  const integrations = new IntegrationsRepository(database.db, cipher, {
    refreshWindowMs: config.tokens.refreshWindowMs,
  })
  const ghl = new GhlClient(config.ghl)
  const endpoint = ghlTokenEndpoint(ghl)
  const timedEndpoint: TokenEndpoint = { ...endpoint, refresh: (i, o) => timeGhlCall(metrics, 'refreshToken', () => endpoint.refresh(i, o)) }
  const tokenService = new TokenService({
    redis,
    keys,
    integrations,
    refreshAnswers: new TokenRefreshAnswersRepository(database.db, cipher),
    refreshLeases: new TokenRefreshLeasesRepository(database.db),
    endpoint: timedEndpoint,
    logger,
    // The token call's own timeout; the refresh lease and lock are sized from it.
    callTimeoutMs: config.tokens.callTimeoutMs,
    // Connection events (broken, recovered) become signed CRM events.
    onEvent: async ({ type, ...data }: ConnectionEvent) => { await publishEvent(type, data) },
    onOutcome: (outcome) => metrics.refreshOutcomes.inc({ outcome }),
  })
  return {
    logger,
    metrics,
    database,
    redis,
    keys,
    queues,
    ghl,
    integrations,
    smsMessages: new SmsMessagesRepository(database.db),
    dispatcher: new SmsDispatcher(queues.sms, redis, keys),
    tokenService,
    publishEvent,
    probes: { postgres: () => database.sql`select 1`, redis: () => redis.ping() },
    close: async () => {
      await queues.close()
      await ghl.close()
      // QUIT lets pending replies arrive; with Redis gone it would wait, so it is bounded.
      await Promise.race([redis.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
      redis.disconnect()
      await database.close()
    },
  }
}
