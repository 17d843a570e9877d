/**
 * Everything the api's routes call, built once per process from the configuration and closed
 * in reverse order on shutdown.
 */
import type { Redis } from 'ioredis'
import type { ApiConfig } from '@ghl-connect/config'
import { createDatabase, IntegrationsRepository, SmsMessagesRepository, TokenCipher, WebhookReceiptsRepository, type DatabaseHandle } from '@ghl-connect/db'
import { GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { createMetrics, type Metrics } from '@ghl-connect/metrics'
import { createQueues, createRedis, crmEventPublisher, type CrmEventPublisher, type Queues } from '@ghl-connect/queues'
import { SmsDispatcher } from '@ghl-connect/sms'
import { ghlTokenEndpoint, TokenService, type ConnectionEvent } from '@ghl-connect/tokens'
import { ConnectLinks } from './oauth/connect-links.ts'
import { ConnectService } from './oauth/connect-service.ts'
import { OAuthStates } from './oauth/oauth-states.ts'
import { parsePublicKey } from './webhooks/webhook-signature.ts'
import { WebhookService } from './webhooks/webhook-service.ts'
import { SmsIntake } from './sms/sms-intake.ts'

export interface Runtime {
  config: ApiConfig
  logger: Logger
  database: DatabaseHandle
  redis: Redis
  queues: Queues
  ghl: GhlClient
  integrations: IntegrationsRepository
  tokenService: TokenService
  connectLinks: ConnectLinks
  connectService: ConnectService
  webhookService: WebhookService
  publishEvent: CrmEventPublisher
  metrics: Metrics
  smsMessages: SmsMessagesRepository
  smsIntake: SmsIntake
  close: () => Promise<void>
}

export function createRuntime (config: ApiConfig, logger: Logger): Runtime {
  const database = createDatabase({ url: config.database.url, poolSize: config.database.poolSize })
  // The api answers 503 when Redis is down instead of queueing commands forever.
  const redis = createRedis(config.redis.url, { maxRetriesPerRequest: 1, connectTimeout: 3000 })
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'))
  const queues = createQueues(redis, config.redis.keyPrefix, (err) => logger.warn({ err }, 'queue error'))
  const publishEvent = crmEventPublisher(queues, config.crmEvents !== null)
  const onConnectionEvent = async (e: ConnectionEvent) => {
    const { type, ...data } = e
    await publishEvent(type, data)
  }
  const integrations = new IntegrationsRepository(database.db, new TokenCipher(config.encryption.keys), {
    refreshWindowMs: config.tokens.refreshWindowMs,
  })
  const ghl = new GhlClient(config.ghl)
  const metrics = createMetrics('api', { processMetrics: config.runtime.nodeEnv !== 'test' })
  const smsMessages = new SmsMessagesRepository(database.db)
  const tokenService = new TokenService({
    redis,
    keyPrefix: config.redis.keyPrefix,
    integrations,
    endpoint: ghlTokenEndpoint(ghl),
    logger,
    lockTtlMs: config.ghl.httpTimeoutMs + 5000,
    onEvent: onConnectionEvent,
    onOutcome: (outcome) => metrics.refreshOutcomes.inc({ outcome }),
  })
  return {
    config,
    logger,
    database,
    redis,
    queues,
    ghl,
    integrations,
    tokenService,
    connectLinks: new ConnectLinks(config.http.connectLinkSecret, config.http.appUrl, config.http.crmOrigin),
    connectService: new ConnectService(ghl, new OAuthStates(redis, config.redis.keyPrefix), integrations, logger),
    webhookService: new WebhookService(parsePublicKey(config.http.ghlWebhookPublicKey), config.ghl.appId,
      new WebhookReceiptsRepository(database.db), integrations, logger, onConnectionEvent),
    publishEvent,
    metrics,
    smsMessages,
    smsIntake: new SmsIntake(integrations, smsMessages, new SmsDispatcher(queues.sms, redis, config.redis.keyPrefix), logger,
      { legacyPitFallback: config.legacyPit !== null, metrics }),
    close: async () => {
      await queues.close()
      await ghl.close()
      redis.disconnect()
      await database.close()
    },
  }
}
