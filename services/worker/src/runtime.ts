/**
 * Everything the worker's processors call, built once per process from the configuration, the
 * same services the api uses (TokenService, repositories, the HighLevel client, the dispatcher).
 */
import type { Redis } from 'ioredis'
import type { WorkerConfig } from '@ghl-connect/config'
import { createDatabase, IntegrationsRepository, SmsMessagesRepository, TokenCipher, type DatabaseHandle } from '@ghl-connect/db'
import { GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { createMetrics, timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { createQueues, createRedis, crmEventPublisher, type Queues } from '@ghl-connect/queues'
import { SmsDispatcher } from '@ghl-connect/sms'
import { Credentials, ghlTokenEndpoint, TokenService, type ConnectionEvent, type TokenEndpoint } from '@ghl-connect/tokens'
import { CrmEventDelivery } from './crm-events/crm-event-delivery.ts'
import { OutboxReconciler } from './outbox/outbox-reconciler.ts'
import { LocationRateLimiter } from './rate-limits/location-rate-limiter.ts'
import { SmsSender } from './sms/sms-sender.ts'
import { SentReceipts } from './sms/sent-receipts.ts'
import { TokenRefresher } from './tokens/token-refresh.ts'
import { TokenSweep } from './tokens/token-sweep.ts'

export interface WorkerRuntime {
  config: WorkerConfig
  logger: Logger
  metrics: Metrics
  database: DatabaseHandle
  redis: Redis
  queues: Queues
  ghl: GhlClient
  smsSender: SmsSender
  tokenRefresher: TokenRefresher
  tokenSweep: TokenSweep
  outboxReconciler: OutboxReconciler
  crmEventDelivery: CrmEventDelivery | null
  close: () => Promise<void>
}

export function createWorkerRuntime (config: WorkerConfig, logger: Logger): WorkerRuntime {
  const metrics = createMetrics('worker', { processMetrics: config.runtime.nodeEnv !== 'test' })
  const database = createDatabase({ url: config.database.url, poolSize: config.database.poolSize })
  const redis = createRedis(config.redis.url)
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'))
  const queues = createQueues(redis, config.redis.keyPrefix, (err) => logger.warn({ err }, 'queue error'))
  const publishEvent = crmEventPublisher(queues, config.crmEvents !== null)
  const integrations = new IntegrationsRepository(database.db, new TokenCipher(config.encryption.keys), {
    refreshWindowMs: config.tokens.refreshWindowMs,
  })
  const messages = new SmsMessagesRepository(database.db)
  const ghl = new GhlClient(config.ghl)
  const endpoint = ghlTokenEndpoint(ghl)
  const timedEndpoint: TokenEndpoint = { ...endpoint, refresh: (i) => timeGhlCall(metrics, 'refreshToken', () => endpoint.refresh(i)) }
  const tokenService = new TokenService({
    redis,
    keyPrefix: config.redis.keyPrefix,
    integrations,
    endpoint: timedEndpoint,
    logger,
    lockTtlMs: config.ghl.httpTimeoutMs + 5000,
    // The same as the api's runtime: connection events become signed CRM events.
    onEvent: async ({ type, ...data }: ConnectionEvent) => { await publishEvent(type, data) },
    onOutcome: (outcome) => metrics.refreshOutcomes.inc({ outcome }),
  })
  const dispatcher = new SmsDispatcher(queues.sms, redis, config.redis.keyPrefix)
  // A live attempt can still be waiting for HighLevel this long; after it, a `sending` row is orphaned.
  const inFlightGraceMs = config.ghl.httpTimeoutMs + 5000
  const smsSender = new SmsSender({
    messages,
    credentials: new Credentials(tokenService, config.legacyPit, logger),
    tokens: tokenService,
    ghl,
    rateLimiter: new LocationRateLimiter(redis, config.redis.keyPrefix, config.worker.locationRateLimit),
    receipts: new SentReceipts(redis, config.redis.keyPrefix),
    dispatcher,
    publishEvent,
    logger,
    metrics,
    maxAttempts: config.worker.smsMaxAttempts,
    retryBaseMs: config.worker.smsRetryBaseMs,
    inFlightGraceMs,
  })
  return {
    config,
    logger,
    metrics,
    database,
    redis,
    queues,
    ghl,
    smsSender,
    tokenRefresher: new TokenRefresher(integrations, tokenService, logger, config.tokens.sweepHorizonMs),
    tokenSweep: new TokenSweep(integrations, queues.tokens, logger, { horizonMs: config.tokens.sweepHorizonMs, everyMs: config.tokens.sweepEveryMs }),
    outboxReconciler: new OutboxReconciler(messages, dispatcher, logger, {
      queuedForMs: config.worker.reconcileAfterMs,
      sendingForMs: Math.max(config.worker.reconcileAfterMs, inFlightGraceMs),
    }),
    crmEventDelivery: config.crmEvents ? new CrmEventDelivery(config.crmEvents, config.ghl.httpTimeoutMs) : null,
    close: async () => {
      await queues.close()
      await ghl.close()
      await redis.quit().catch(() => redis.disconnect())
      await database.close()
    },
  }
}
