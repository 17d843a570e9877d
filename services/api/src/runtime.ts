/**
 * Everything the api's routes call: the shared core (packages/core) and the api's own
 * services on top of it, built once per process and closed on shutdown.
 */
import type { ApiConfig } from '@ghl-connect/config'
import { ClientAccessTokens } from '@ghl-connect/access-tokens'
import { ClientAccessTokensRepository, ConnectionsOverviewRepository, SmsOverviewRepository, InstallClaimCodesRepository, UsedConnectLinksRepository, WebhookReceiptsRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import { readinessProbe, type Readiness } from '@ghl-connect/lifecycle'
import { createCore, InvalidationFeed, type Core } from '@ghl-connect/core'
import { ConnectLinks } from '@ghl-connect/connect-links'
import { CredentialCache, Credentials, type Credential } from '@ghl-connect/tokens'
import { GhlProxy } from './ghl-proxy/proxy-service.ts'
import { AgencyInstalls } from './oauth/agency-installs.ts'
import { AgencyPicks } from './oauth/agency-picks.ts'
import { ConnectService } from './oauth/connect-service.ts'
import { ConnectionEvents } from './oauth/connection-events.ts'
import { InstallClaims } from './oauth/install-claims.ts'
import { OAuthStates } from './oauth/oauth-states.ts'
import { parsePublicKey } from './webhooks/webhook-signature.ts'
import { webhookHandlers } from './webhooks/handlers.ts'
import { WebhookService } from './webhooks/webhook-service.ts'
import { ContactDndWebhooks } from './webhooks/contact-dnd.ts'
import { SmsIntake } from './sms/sms-intake.ts'
import { SmsGroupCommit } from './sms/sms-group-commit.ts'
import { ConversationService } from './conversations/conversation-service.ts'
import { SmsScheduling } from './sms/scheduling.ts'
import { ClientSettingsService } from './clients/client-settings-service.ts'
import { ClientSettingsCache } from './clients/settings-cache.ts'
import { SmsBatchIntake } from './sms/sms-batch-intake.ts'
import { EmailIntake, emailBatchKind } from './email/email-intake.ts'

export interface Runtime extends Core {
  config: ApiConfig
  agencyInstalls: AgencyInstalls
  connectLinks: ConnectLinks
  connectService: ConnectService
  installClaims: InstallClaims
  webhookService: WebhookService
  smsIntake: SmsIntake
  conversationService: ConversationService
  ghlProxy: GhlProxy
  smsScheduling: SmsScheduling
  clientSettingsService: ClientSettingsService
  smsBatchIntake: SmsBatchIntake
  emailIntake: EmailIntake
  /** SMS and email counts for the connections page. */
  messagesOverview: SmsOverviewRepository
  /** The batch intake with the email kind. */
  emailBatchIntake: SmsBatchIntake
  /** Client access tokens: minted and listed for the CRM, checked on every request that presents one. */
  accessTokens: ClientAccessTokens
  /** What /admin/connections shows. */
  connectionsOverview: ConnectionsOverviewRepository
  readiness: () => Promise<Readiness<'postgres' | 'redis'>>
}

/** A short life: it bounds how long a token is served after a change whose announcement failed (Redis down; the proxy then fails anyway). */
const API_CREDENTIAL_CACHE = { maxClients: 10_000, ttlMs: 10_000 }

export function createRuntime (config: ApiConfig, logger: Logger): Runtime {
  // The api answers 503 when Redis is down instead of queueing commands forever.
  const core = createCore(config, logger, { service: 'api', redis: { maxRetriesPerRequest: 1, connectTimeout: 3000 }, ghlConnections: config.http.ghlProxy.connections })
  const { ghl, integrations, redis, keys } = core
  const connectionEvents = new ConnectionEvents(core.crmEvents, logger)
  // Read per message by the intake: kept per replica, dropped on every replica when a PUT changes them.
  const settingsChanges = new InvalidationFeed(redis, keys.clientSettingsChanged, logger)
  const clientSettings = new ClientSettingsCache(core.clientSettings, settingsChanges, logger)
  // The proxy's (and so MCP's) and the conversations' tokens: kept per replica, dropped on every
  // replica when any process writes the connection (credential-cache.ts).
  const credentialCache = new CredentialCache<Credential>(API_CREDENTIAL_CACHE)
  core.integrationChanges.listen(credentialCache)
  const credentials = new Credentials(core.tokenService, config.legacyPit, logger, {
    cache: credentialCache, watch: core.integrationChanges, onLookup: (result) => core.metrics.credentialLookups.inc({ result }),
  })
  const smsScheduling = new SmsScheduling(clientSettings, core.smsMessages, core.dispatcher, logger)
  const smsIntake = new SmsIntake(integrations, core.smsMessages, core.dispatcher, logger,
    { legacyPitFallback: config.legacyPit !== null, metrics: core.metrics }, smsScheduling,
    new SmsGroupCommit(core.smsMessages, core.dispatcher, logger))
  const installClaims = new InstallClaims(config.http.connectLinkSecret, new InstallClaimCodesRepository(core.database.db), integrations, connectionEvents, logger)
  const agencyInstalls = new AgencyInstalls(ghl, config.ghl.appId, integrations, core.tokenService, installClaims, connectionEvents, logger)
  return {
    ...core,
    config,
    agencyInstalls,
    connectLinks: new ConnectLinks(config.http.connectLinkSecret, config.http.appUrl, config.http.crmOrigin),
    connectService: new ConnectService(ghl, new OAuthStates(redis, keys), integrations,
      new UsedConnectLinksRepository(core.database.db), installClaims, connectionEvents, logger,
      agencyInstalls, new AgencyPicks(redis, keys, integrations)),
    installClaims,
    webhookService: new WebhookService(parsePublicKey(config.http.ghlWebhookPublicKey), config.ghl.appId,
      new WebhookReceiptsRepository(core.database.db), webhookHandlers({
        integrations, events: core.crmEvents, messageReports: core.messageReports, logger,
        agencyInstalls, contactDnd: new ContactDndWebhooks(core.contactDnd, integrations, logger),
      }), logger),
    smsIntake,
    emailIntake: new EmailIntake(smsIntake, core.smsMessages),
    emailBatchIntake: new SmsBatchIntake({
      integrations, messages: core.smsMessages, dispatcher: core.dispatcher, scheduling: smsScheduling, logger, legacyPitFallback: config.legacyPit !== null, metrics: core.metrics, kind: emailBatchKind,
    }),
    conversationService: new ConversationService(credentials, core.tokenService, ghl, core.metrics),
    smsScheduling,
    clientSettingsService: new ClientSettingsService(clientSettings),
    smsBatchIntake: new SmsBatchIntake({
      integrations, messages: core.smsMessages, dispatcher: core.dispatcher, scheduling: smsScheduling, logger, legacyPitFallback: config.legacyPit !== null, metrics: core.metrics,
    }),
    ghlProxy: new GhlProxy(ghl, credentials, core.tokenService, core.rateLimiter, config.http.ghlProxy, core.metrics),
    accessTokens: new ClientAccessTokens(new ClientAccessTokensRepository(core.database.db), config.accessTokens),
    connectionsOverview: new ConnectionsOverviewRepository(core.database.db),
    messagesOverview: new SmsOverviewRepository(core.database.db),
    readiness: readinessProbe(core.probes, { onFailure: (dependency, err) => logger.warn({ err, dependency }, 'readiness check failed') }),
    close: async () => {
      await settingsChanges.close()
      await core.close()
    },
  }
}
