/**
 * What the api and the worker both run on, built once per process from the configuration: the
 * PostgreSQL pool and repositories, the Redis connection and key layout, the queues and the SMS
 * dispatcher, the HighLevel client, metrics and the one TokenService. Tests and bench build it the
 * same way; `close` ends it in reverse order.
 */
import { randomUUID } from 'node:crypto'
import type { RedisOptions, Redis } from 'ioredis'
import type { WorkerConfig } from '@ghl-connect/config'
import {
  ClientSettingsRepository, ContactDndRepository, createDatabase, CrmEventsRepository, crmEventOf, GapFillRepository, IntegrationsRepository, SmsDeliveryStatusesRepository,
  SmsMessagesRepository, TokenCipher, type IntegrationChange,
  TokenRefreshAnswersRepository, TokenRefreshLeasesRepository, type DatabaseHandle,
} from '@ghl-connect/db'
import { GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { createMetrics, timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import { createQueues, createRedis, CrmEventDispatcher, SmsDispatcher, type Queues } from '@ghl-connect/queues'
import { DailyLimit, LocationRateLimiter } from '@ghl-connect/rate-limits'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { credentialChangeMessages, ghlTokenEndpoint, TokenService, type ConnectionEvent, type TokenEndpoint } from '@ghl-connect/tokens'
import { CrmEvents } from './crm-events.ts'
import { InvalidationFeed } from './invalidation-feed.ts'
import { MessageReports } from './message-reports.ts'

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
  /** HighLevel's per-location budget, one in Redis for the worker's SMS and the api's proxy (daily budget included). */
  rateLimiter: LocationRateLimiter
  integrations: IntegrationsRepository
  /** Every write to a connection, announced to every process (tokens' credentialChangeMessages; the api's credential cache listens). */
  integrationChanges: InvalidationFeed
  smsMessages: SmsMessagesRepository
  /** Per-client SMS settings (quiet hours, default sender number): the intake and the sender read them. */
  clientSettings: ClientSettingsRepository
  /** Contacts' SMS do-not-disturb from HighLevel's ContactDndUpdate webhooks: the api writes, the worker reads before a POST. */
  contactDnd: ContactDndRepository
  dispatcher: SmsDispatcher
  tokenService: TokenService
  /** Events for the CRM: recorded in PostgreSQL, delivered by the worker; a no-op without CRM_WEBHOOK_URL. */
  crmEvents: CrmEvents
  /** The events outbox the worker delivers from; null without CRM_WEBHOOK_URL. */
  eventsOutbox: CrmEventsRepository | null
  /** Gap filling's cursors and budgets, and the locations with traffic. */
  gapFill: GapFillRepository
  /** A reply or a delivery status HighLevel told of (webhook or gap filling): the one way it becomes an event. */
  messageReports: MessageReports
  /** Readiness checks of the two backends, for a process's /readyz. */
  probes: { postgres: () => Promise<unknown>, redis: () => Promise<unknown> }
  close: () => Promise<void>
}

export interface CoreOptions {
  service: 'api' | 'worker' | 'cli'
  /** ioredis options over the defaults (the api fails fast instead of queueing commands while Redis is down). */
  redis?: RedisOptions
  /** Sockets to HighLevel per origin (the transport's default when unset): the worker's calls at once, so none waits for a socket. */
  ghlConnections?: number
}

export function createCore (config: CoreConfig, logger: Logger, opts: CoreOptions): Core {
  const metrics = createMetrics(opts.service, { processMetrics: config.runtime.nodeEnv !== 'test' })
  const database = createDatabase(config.database)
  const redis = createRedis(config.redis, opts.redis)
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'))
  const keys = new RedisKeys(config.redis.keyPrefix)
  const queues = createQueues(redis, keys, (err) => logger.warn({ err }, 'queue error'))
  // The events outbox exists only when there is a CRM to deliver to.
  const eventsOutbox = config.crmEvents ? new CrmEventsRepository(database.db) : null
  const crmEvents = new CrmEvents(eventsOutbox, new CrmEventDispatcher(queues.crmEvents), logger)
  const cipher = new TokenCipher(config.encryption.keys)
  const integrationChanges = new InvalidationFeed(redis, keys.integrationChanged, logger)
  const integrations = new IntegrationsRepository(database.db, cipher, {
    refreshWindowMs: config.tokens.refreshWindowMs,
    // Every process announces its writes, so the api's cached credentials (on any replica) are dropped.
    onChanged: (change) => announceIntegrationChange(integrationChanges, change, logger),
  })
  const dailyLimit = new DailyLimit(redis, keys, logger)
  // Every answer HighLevel gives for a location says how much of its daily budget is left.
  const ghl = new GhlClient({ ...config.ghl, connections: opts.ghlConnections, onRateLimit: (locationId, rateLimit, headers) => dailyLimit.observe(locationId, rateLimit, headers) })
  const endpoint = ghlTokenEndpoint(ghl)
  const timedEndpoint: TokenEndpoint = { ...endpoint, refresh: (i, o) => timeGhlCall(metrics, 'refreshToken', () => endpoint.refresh(i, o)) }
  const rateLimiter = new LocationRateLimiter(redis, keys, config.ghl.locationRateLimit)
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
    // Connection events (broken, recovered, expiring, an agency broken) become CRM events, recorded right after the change.
    onEvent: async (event: ConnectionEvent) => { await crmEvents.publish(crmEventOfConnection(event)) },
    onOutcome: (outcome) => metrics.refreshOutcomes.inc({ outcome }),
    // An agency's calls (minting its sub-accounts' tokens) share its company's budget, like a location's.
    paceCompany: (companyId, opts) => rateLimiter.waitForSlot(keys.companyRateName(companyId), `mint-${randomUUID()}`, opts),
  })
  const gapFill = new GapFillRepository(database.db)
  const messageReports = new MessageReports({
    tokens: tokenService, ghl, events: crmEvents, eventsOutbox, deliveryStatuses: new SmsDeliveryStatusesRepository(database.db, eventsOutbox), gapFill, logger, metrics,
  })
  return {
    logger,
    metrics,
    database,
    redis,
    keys,
    queues,
    ghl,
    rateLimiter,
    integrations,
    integrationChanges,
    smsMessages: new SmsMessagesRepository(database.db, eventsOutbox),
    clientSettings: new ClientSettingsRepository(database.db),
    contactDnd: new ContactDndRepository(database.db),
    dispatcher: new SmsDispatcher(queues.sms, redis, keys),
    tokenService,
    crmEvents,
    eventsOutbox,
    gapFill,
    messageReports,
    probes: { postgres: () => database.sql`select 1`, redis: () => redis.ping() },
    close: async () => {
      await integrationChanges.close()
      await queues.close()
      await ghl.close()
      // QUIT lets pending replies arrive; with Redis gone it would wait, so it is bounded.
      await Promise.race([redis.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
      redis.disconnect()
      await database.close()
    },
  }
}

/**
 * How long a write waits for its announcement. The worker's Redis connection waits for Redis
 * without limit (BullMQ needs that), and a refresh whose new pair is already stored must not stall
 * on Redis being down; past this the copies elsewhere age out instead (the api's in 10 s).
 */
const ANNOUNCE_WAIT_MS = 1000

async function announceIntegrationChange (feed: InvalidationFeed, change: IntegrationChange, logger: Logger): Promise<void> {
  const told = Promise.all(credentialChangeMessages(change).map((message) => feed.publish(message)))
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), ANNOUNCE_WAIT_MS) })
  try {
    if (await Promise.race([told, late]) === 'late') {
      told.catch(() => {}) // still queued on the connection; its failure, if any, is this warning's
      logger.warn({ ...change }, 'a connection changed but Redis did not take the announcement in time; other api replicas read it again within 10 s')
    }
  } catch (err) {
    // The write stands; a credential cached elsewhere ages out, and the proxy cannot take a rate-limit slot without Redis anyway.
    logger.warn({ err, ...change }, 'a connection changed but the other processes could not be told (Redis)')
  } finally {
    clearTimeout(timer)
  }
}

function crmEventOfConnection (event: ConnectionEvent) {
  switch (event.type) {
    case 'connection.broken': return crmEventOf.connectionBroken(event, event.reason, event.tokenVersion)
    case 'connection.recovered': return crmEventOf.connectionRecovered(event, event.tokenVersion)
    case 'connection.expiring': return crmEventOf.connectionExpiring(event, event.tokenVersion, event)
    case 'agency.broken': return crmEventOf.agencyBroken(event, event.reason, event.locations, event.more)
  }
}
