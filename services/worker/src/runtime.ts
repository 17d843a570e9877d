/**
 * Everything the worker's processors call: the shared core (packages/core, the same
 * TokenService, repositories, HighLevel client and dispatcher the api uses) and the worker's own
 * services on top of it.
 */
import type { WorkerConfig } from '@ghl-connect/config'
import type { Logger } from '@ghl-connect/logging'
import { RetentionRepository, SCHEDULE_QUEUE_AHEAD_MS } from '@ghl-connect/db'
import { CrmEventDispatcher } from '@ghl-connect/queues'
import { createCore, type Core } from '@ghl-connect/core'
import { CredentialCache, Credentials, DEFAULT_CREDENTIAL_CACHE } from '@ghl-connect/tokens'
import { CrmEventDelivery } from './crm-events/crm-event-delivery.ts'
import { CrmEventReconciler } from './crm-events/crm-event-reconciler.ts'
import { DeliveryTimeout } from './gap-fill/delivery-timeout.ts'
import { GapFillJob } from './gap-fill/gap-fill-job.ts'
import { GapFiller } from './gap-fill/gap-filler.ts'
import { OutboxReconciler } from './outbox/outbox-reconciler.ts'
import { Retention } from './retention/retention.ts'
import { SmsSender } from './sms/sms-sender.ts'
import { SmsRelease } from './sms/release.ts'
import { SentReceipts } from './sms/sent-receipts.ts'
import { TokenRefresher } from './tokens/token-refresh.ts'
import { TokenSweep } from './tokens/token-sweep.ts'

export interface WorkerRuntime extends Core {
  config: WorkerConfig
  smsSender: SmsSender
  tokenRefresher: TokenRefresher
  tokenSweep: TokenSweep
  outboxReconciler: OutboxReconciler
  crmEventDelivery: CrmEventDelivery | null
  crmEventReconciler: CrmEventReconciler | null
  retention: Retention
  gapFillJob: GapFillJob
}

/** Between retention's batches: long enough for the sending path's queries to get through. */
const RETENTION_PAUSE_MS = 100

export function createWorkerRuntime (config: WorkerConfig, logger: Logger): WorkerRuntime {
  // The sms and tokens queues each run `concurrency` jobs, each with one HighLevel call at a time,
  // and gap filling one more: with fewer sockets, calls would queue behind HighLevel's latency.
  const core = createCore(config, logger, { service: 'worker', ghlConnections: 2 * config.worker.concurrency + 1 })
  const { redis, keys, integrations, smsMessages: messages, dispatcher, tokenService, metrics, eventsOutbox } = core
  // A live attempt can still be waiting for HighLevel this long; after it, a `sending` row is orphaned.
  const inFlightGraceMs = config.ghl.httpTimeoutMs + 5000
  // The process's one credential cache: an SMS reads its client's token from PostgreSQL only when it changed (sms-sender.ts).
  const credentials = new Credentials(tokenService, config.legacyPit, logger, {
    cache: new CredentialCache(DEFAULT_CREDENTIAL_CACHE), onLookup: (result) => metrics.credentialLookups.inc({ result }),
  })
  const smsSender = new SmsSender({
    messages,
    contactDnd: core.contactDnd,
    credentials,
    tokens: tokenService,
    ghl: core.ghl,
    rateLimiter: core.rateLimiter,
    release: new SmsRelease(core.clientSettings, messages),
    receipts: new SentReceipts(redis, keys),
    dispatcher,
    events: core.crmEvents,
    logger,
    metrics,
    retryForMs: config.worker.smsRetryForMs,
    retryBaseMs: config.worker.smsRetryBaseMs,
    inFlightGraceMs,
    settleMs: config.worker.smsVerifySettleMs,
    verifyForMs: config.worker.smsVerifyForMs,
  })
  if (config.worker.smsMaxAttemptsIgnored) {
    logger.warn({ deprecation: 'SMS_MAX_ATTEMPTS' }, 'SMS_MAX_ATTEMPTS is no longer read: 5xx and network failures are retried for SMS_RETRY_FOR_SECONDS (default 3600) instead of a number of attempts; remove it from the environment')
  }
  return {
    ...core,
    config,
    smsSender,
    tokenRefresher: new TokenRefresher(integrations, tokenService, logger, config.tokens.sweepHorizonMs, config.tokens.agencyRefreshMs,
      (integration) => credentials.refreshed(integration)),
    tokenSweep: new TokenSweep(integrations, core.queues.tokens, logger,
      { horizonMs: config.tokens.sweepHorizonMs, everyMs: config.tokens.sweepEveryMs, agencyRefreshMs: config.tokens.agencyRefreshMs }),
    outboxReconciler: new OutboxReconciler(messages, dispatcher, logger, {
      queuedForMs: config.worker.reconcileAfterMs,
      sendingForMs: Math.max(config.worker.reconcileAfterMs, inFlightGraceMs),
      // Two runs ahead at least, so a scheduled message has its job before its time even if one run is missed.
      scheduleAheadMs: Math.max(SCHEDULE_QUEUE_AHEAD_MS, 2 * config.worker.reconcileEveryMs),
    }),
    crmEventDelivery: config.crmEvents && eventsOutbox ? new CrmEventDelivery(eventsOutbox, config.crmEvents, config.ghl.httpTimeoutMs) : null,
    crmEventReconciler: eventsOutbox
      ? new CrmEventReconciler(eventsOutbox, new CrmEventDispatcher(core.queues.crmEvents), logger, { overdueForMs: config.worker.reconcileAfterMs })
      : null,
    retention: new Retention(new RetentionRepository(core.database.db), logger, { ...config.worker.retention, pauseMs: RETENTION_PAUSE_MS }),
    gapFillJob: gapFillJob(core, config, logger),
  }
}

function gapFillJob (core: Core, config: WorkerConfig, logger: Logger): GapFillJob {
  const deps = { gapFill: core.gapFill, reports: core.messageReports, tokens: core.tokenService, ghl: core.ghl, rateLimiter: core.rateLimiter, logger, metrics: core.metrics }
  const { days, callsPerDay, deliveryTimeoutMs, graceMs } = config.worker.gapFill
  return new GapFillJob(
    new GapFiller({ ...deps, eventsOutbox: core.eventsOutbox }, { days, callsPerDay, deliveryTimeoutMs, graceMs }),
    new DeliveryTimeout(deps, { deliveryTimeoutMs, callsPerDay }),
  )
}
