/**
 * How a send ends, written once for the send state machine (sms-sender.ts) and for settling an
 * unknown outcome (unknown-outcome.ts): the row's outcome, its metric and log line, the client's
 * backlog, and the CRM event recorded with the row.
 */
import type { OutboxFailure, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { deliveryEvent, GroupCommit, messageEventIds } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { SmsDispatcher } from '@ghl-connect/queues'
import type { CrmEvents } from '@ghl-connect/core'
import type { RetryPolicy } from './retry-policy.ts'
import { afterCountedAttempt } from './send-outcome.ts'
import type { SentIds } from './sent-receipts.ts'

export type SendDecision =
  | { kind: 'done', outcome: 'sent' | 'failed' | 'skipped' }
  /** Run the job again after `delayMs`; `reason` is for logs and metrics. */
  | { kind: 'later', delayMs: number, reason: 'rate_limited' | 'retry' | 'in_flight' | 'verify' | 'scheduled' }

export const skipped: SendDecision = { kind: 'done', outcome: 'skipped' }

export interface OutcomeRecorderDeps extends RetryPolicy {
  messages: SmsMessagesRepository
  dispatcher: SmsDispatcher
  /** `markSent` / `markFailed` record the outcome's event with it; this queues its delivery. */
  events: Pick<CrmEvents, 'dispatch'>
  metrics?: Metrics
}

export class OutcomeRecorder {
  /** Jobs ending together settle their clients' backlogs in one Redis round trip (a counter for fairness: no order to keep). */
  private readonly backlogs: GroupCommit<string, void>

  constructor (private readonly deps: OutcomeRecorderDeps) {
    this.backlogs = new GroupCommit((clientIds) => deps.dispatcher.settledMany(clientIds))
  }

  /**
   * `stored` null: a newer outcome was written first (or another process recorded this one);
   * nothing to tell. Else `sms.sent` was recorded with the row; its id is deterministic, so
   * queuing it again is harmless.
   */
  async sent (message: OutboxMessage, sent: SentIds, stored: OutboxMessage | null, log: Logger): Promise<SendDecision> {
    if (!stored) {
      log.warn({ ghlMessageId: sent.messageId }, 'HighLevel took this attempt\'s SMS, but the message already has a newer outcome; left as it is')
      return skipped
    }
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'sent', code: '' })
    await this.leftBacklog(message, log)
    // A delivery report that beat our `sent` write was applied with it: its event goes out too.
    const delivery = deliveryEvent(stored)
    await this.deps.events.dispatch(messageEventIds(message.channel).sent(message.id), ...(delivery ? [delivery.id] : []))
    return { kind: 'done', outcome: 'sent' }
  }

  /** A counted try: retried when the budget allows, else failed saying so. */
  async retryOrFail (row: OutboxMessage, retry: { failure: OutboxFailure, atLeastMs: number }, log: Logger): Promise<SendDecision> {
    const next = afterCountedAttempt(row, retry, this.deps, Date.now(), Math.random())
    if (next.kind === 'fail') return this.failed(row, next.failure, { countAttempt: false }, log)
    const { code } = retry.failure
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'retried', code })
    log.warn({ attempts: row.attempts, retryInMs: next.delayMs, code }, 'sms attempt failed; retrying')
    return { kind: 'later', delayMs: next.delayMs, reason: 'retry' }
  }

  /** `attemptId` undefined: from `queued`; a string (or null for a row from before attempt ids): from `sending` as that attempt. */
  async failed (message: OutboxMessage, failure: OutboxFailure, opts: { attemptId?: string | null, countAttempt: boolean }, log: Logger): Promise<SendDecision> {
    const row = await this.deps.messages.markFailed(message.id, failure, opts)
    if (!row) return skipped
    this.deps.metrics?.smsOutcomes.inc({ outcome: 'failed', code: failure.code })
    log.warn({ code: failure.code, attempts: row.attempts }, 'sms failed')
    await this.leftBacklog(message, log)
    await this.deps.events.dispatch(messageEventIds(message.channel).failed(message.id))
    return { kind: 'done', outcome: 'failed' }
  }

  /** The message no longer counts in its client's backlog. */
  async leftBacklog (message: OutboxMessage, log: Logger): Promise<void> {
    await this.backlogs.write(message.clientId).catch((err) => log.warn({ err }, 'could not update the client backlog'))
  }
}
