/**
 * Every Redis key a deployment writes is named here, so the layout can be read (and changed) in
 * one place, and a test or an operator can find a concern's keys without reading its code.
 *
 *   <prefix>:lock:refresh:<client>        the per-client refresh lock (packages/tokens)
 *   <prefix>:refresh-cooldown:<client>    back-off after a failed refresh (packages/tokens)
 *   <prefix>:lock:mint:<location>         the per-location lock that mints a location's token with its agency's once (packages/tokens)
 *   <prefix>:agency-install:<company>     set while an agency's install mints its sub-accounts: their INSTALL webhooks wait (api)
 *   <prefix>:refresh-answer:<integration>:<version>
 *                                         HighLevel's refresh answer (sealed) kept while PostgreSQL is down (packages/tokens)
 *   <prefix>:oauth-state:<state>          one-time OAuth states, 10 minutes (api)
 *   <prefix>:oauth-states:<client>        a client's pending states, oldest first, to cap them (api)
 *   <prefix>:ratelimit:<route+address>    the browser routes' per-address limits (@fastify/rate-limit's own suffix)
 *   <prefix>:api-key-rate:<key name>      an API key's request count in the current window (api)
 *   <prefix>:client-token-rate:<token id> a client access token's request count in the current window (api)
 *   <prefix>:ghl-rate:{<location>}        HighLevel's per-location request log (worker and the api's proxy)
 *   <prefix>:ghl-rate:{company:<company>} the same log for an agency's (Company) calls: HighLevel limits a company like a location
 *   <prefix>:ghl-rate-slot:{<location>}:<holder>
 *                                         a message's (or proxy call's) reserved slot in that log (worker, api)
 *   <prefix>:ghl-daily-spent:{<location>} set while HighLevel's daily budget of the location is spent, until its
 *                                         reset (packages/ghl's answers); the limiter's script reads it with the log
 *   <prefix>:sms-backlog:{sms}:<client>   a client's queued SMS, for fair priorities (dispatcher)
 *   <prefix>:sms-sent:<outbox id>         HighLevel's answer kept while PostgreSQL is down (worker)
 *   <prefix>-bull:{<queue>}:<queue>:...   BullMQ's own keys
 *
 * Client ids are the CRM's opaque text: they are base64url-encoded wherever they enter a key or a
 * BullMQ job id, so a ':' or a '*' in one can neither reach another key nor widen a SCAN pattern.
 *
 * Redis Cluster: a script or MULTI may only touch keys of one hash slot, and the part of a key in
 * `{...}` (its hash tag) alone picks the slot. So the keys one atomic call touches share a tag:
 * each BullMQ queue's keys carry `{<queue>}` (BullMQ's scripts touch many keys of one queue; one
 * tag per queue spreads the queues over the nodes), a location's rate-limit log and its
 * reservations carry `{<location>}` (one script reads and writes both), and the fairness
 * counters carry `{sms}`, the SMS queue's tag, so the counter and the job it prices are written
 * by one script (SmsDispatcher). Every other key is touched alone. docs/scaling.md says more.
 */

/** A queue's Redis Cluster hash tag (our queue names are fixed words, never input). */
export const queueTag = (queue: string): string => `{${queue}}`

/** A CRM-chosen id as it may appear inside a key or a job id. */
export const encodeId = (value: string): string => Buffer.from(value).toString('base64url')

export class RedisKeys {
  constructor (readonly prefix: string) {}

  /**
   * BullMQ's `prefix` option for one queue: its keys sit beside ours, never inside our namespace,
   * and carry the queue's hash tag, so each queue lives in one Redis Cluster slot.
   */
  bullPrefix (queue: string): string { return `${this.prefix}-bull:${queueTag(queue)}` }

  refreshLock (clientId: string): string { return `${this.prefix}:lock:refresh:${encodeId(clientId)}` }

  /** HighLevel location ids are letters and digits; encoded all the same, as they come from webhooks. */
  mintLock (locationId: string): string { return `${this.prefix}:lock:mint:${encodeId(locationId)}` }

  agencyInstall (companyId: string): string { return `${this.prefix}:agency-install:${encodeId(companyId)}` }

  /** A company's HighLevel budget is kept in a location's kind of log, under this name (never a location id: those have no ':'). */
  companyRateName (companyId: string): string { return `company:${companyId}` }

  /** Every client's refresh lock, as a SCAN pattern (the lock_loss drill deletes them mid-refresh). */
  get refreshLockPattern (): string { return `${this.prefix}:lock:refresh:*` }

  /** Integration ids are our own uuids, safe in a key as they are. */
  keptRefreshAnswer (integrationId: string, replacesVersion: number): string { return `${this.prefix}:refresh-answer:${integrationId}:${replacesVersion}` }

  refreshCooldown (clientId: string): string { return `${this.prefix}:refresh-cooldown:${encodeId(clientId)}` }

  oauthState (state: string): string { return `${this.prefix}:oauth-state:${state}` }
  /** An agency's approval waiting for the person to pick which sub-account is the client (10 minutes). */
  agencyPick (token: string): string { return `${this.prefix}:agency-pick:${token}` }

  /** A sorted set of the client's pending state keys (scored by creation time), so a client holds a bounded number. */
  pendingOAuthStates (clientId: string): string { return `${this.prefix}:oauth-states:${encodeId(clientId)}` }

  /** @fastify/rate-limit's `nameSpace`: it appends the route and the caller's address. */
  get rateLimitNamespace (): string { return `${this.prefix}:ratelimit:` }

  /** Names come from API_KEYS (`name:key`) or a fingerprint: never the key itself. */
  apiKeyRateLimit (keyName: string): string { return `${this.prefix}:api-key-rate:${encodeId(keyName)}` }

  /** Token ids are our own uuids, safe in a key as they are. */
  clientTokenRateLimit (tokenId: string): string { return `${this.prefix}:client-token-rate:${tokenId}` }

  locationRateLog (locationId: string): string { return `${this.prefix}:ghl-rate:{${locationId}}` }

  /** In its location's slot: the reservation script reads and writes it with the log. */
  locationRateSlot (locationId: string, holder: string): string { return `${this.prefix}:ghl-rate-slot:{${locationId}}:${holder}` }

  /** In its location's slot: the limiter's script reads it with the location's log. */
  locationDailySpent (locationId: string): string { return `${this.prefix}:ghl-daily-spent:{${locationId}}` }

  /** In the SMS queue's slot: the dispatcher counts it and adds the job in one script. */
  smsBacklog (clientId: string): string { return `${this.prefix}:sms-backlog:${queueTag('sms')}:${encodeId(clientId)}` }

  /** A pub/sub channel: a client's id is published on it when its settings change, so every api replica drops its cached copy. */
  get clientSettingsChanged (): string { return `${this.prefix}:client-settings-changed` }

  /** A pub/sub channel: every write to a connection (token refreshed, failed, revoked, replaced) is announced on it, so every api replica drops its cached credential. */
  get integrationChanged (): string { return `${this.prefix}:integration-changed` }

  smsSentReceipt (outboxId: string): string { return `${this.prefix}:sms-sent:${outboxId}` }

  /** A SCAN pattern for every key of this deployment, BullMQ's included (tests flush with it). */
  get everyKeyPattern (): string { return `${this.prefix}*` }
}
