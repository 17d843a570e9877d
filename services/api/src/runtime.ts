/**
 * Everything the api's routes call, built once per process from the configuration and closed
 * in reverse order on shutdown.
 */
import type { Redis } from 'ioredis'
import type { ApiConfig } from '@ghl-connect/config'
import { createDatabase, IntegrationsRepository, TokenCipher, type DatabaseHandle } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import { createQueues, createRedis, type Queues } from '@ghl-connect/queues'

export interface Runtime {
  config: ApiConfig
  logger: Logger
  database: DatabaseHandle
  redis: Redis
  queues: Queues
  integrations: IntegrationsRepository
  close: () => Promise<void>
}

export function createRuntime (config: ApiConfig, logger: Logger): Runtime {
  const database = createDatabase({ url: config.database.url, poolSize: config.database.poolSize })
  // The api answers 503 when Redis is down instead of queueing commands forever.
  const redis = createRedis(config.redis.url, { maxRetriesPerRequest: 1, connectTimeout: 3000 })
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'))
  const queues = createQueues(redis, config.redis.keyPrefix, (err) => logger.warn({ err }, 'queue error'))
  const integrations = new IntegrationsRepository(database.db, new TokenCipher(config.encryption.keys), {
    refreshWindowMs: config.tokens.refreshWindowMs,
  })
  return {
    config,
    logger,
    database,
    redis,
    queues,
    integrations,
    close: async () => {
      await queues.close()
      redis.disconnect()
      await database.close()
    },
  }
}
