/**
 * Sends one message (SMS or email) from the outbox; what differs by channel is send-channels.ts. Knows nothing of BullMQ: it answers what the job should do next
 * (done, or try again after some time) and the processor carries that out.
 *
 * No loss, no duplicate. HighLevel has no idempotency key, so the row's status is the guard:
 *   queued --(token, recipient, rate-limit slot)--> sending --(POST answered 2xx)--> sent
 * `sending` is written right before the POST, conditional on `queued`, with a fresh attempt id,
 * the attempt's start and the contact: only one attempt at a time can POST a message, and every
 * outcome write (sent, failed, back to queued) is conditional on that attempt id, so a late
 * attempt never overwrites a newer outcome. An answer that proves nothing was sent (429, 5xx,
 * a refused connection, a 401 before the refresh) puts the row back to `queued`.
 * An attempt whose outcome nobody knows (its answer lost, or its process dead while `sending`)
 * is never sent again blindly: unknown-outcome.ts settles it.
 *
 * The credential may come from the process's cache (credential-cache.ts in packages/tokens): it
 * is used only if the client as stored, read with the row, still has the integration and token
 * version it was read on, and `sending` is written only if that still holds. When the write is
 * refused for that alone (refreshed by another process, disconnected, reconnected), the job reads
 * the row and the credential again, once, instead of giving up.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { basisHolds, GroupCommit, type MessageAsStored, type OutboxMessage, type SendingWrite } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall } from '@ghl-connect/metrics'
import { credentialBasis, oauthCredential, withFreshToken, type Credential } from '@ghl-connect/tokens'
import { withDndRead, type ContactDndLookup } from './contact-dnd.ts'
import { OutcomeRecorder, skipped, type OutcomeRecorderDeps, type SendDecision } from './outcome-recorder.ts'
import { SearchPageDeferred, type ResolvedContact } from './recipients.ts'
import { recordSent, type SentWrites } from './record-sent.ts'
import type { SmsRelease } from './release.ts'
import { decideAfterPost, decideBeforePost, type AfterPostStep, type NextStep } from './send-outcome.ts'
import { sendChannelOf } from './send-channels.ts'
import type { SentIds } from './sent-receipts.ts'
import { UnknownOutcomes, type UnknownOutcomeDeps } from './unknown-outcome.ts'

export interface SmsSenderDeps extends OutcomeRecorderDeps, UnknownOutcomeDeps {
  /** Opt-outs HighLevel's ContactDndUpdate webhooks reported, read before the POST. */
  contactDnd: ContactDndLookup
  /** Scheduled messages and quiet hours: whether a queued message may go now. */
  release: SmsRelease
  logger: Logger
}

/** The `sending` write was refused because the client's stored connection moved on from the credential: go again from this read. */
interface CredentialMoved { kind: 'credential_moved', stored: MessageAsStored }

/** Longer than this, a job does not hold its worker slot waiting for a search page's rate-limit slot. */
const SEARCH_PAGE_MAX_WAIT_MS = 5_000

export class SmsSender {
  private readonly outcomes: OutcomeRecorder
  private readonly unknownOutcomes: UnknownOutcomes
  private readonly sentWrites: SentWrites
  /** Jobs starting together share their first read (`findWithStampMany`), each answered with its own row. */
  private readonly firstReads: GroupCommit<string, MessageAsStored | null>
  /** Jobs about to POST together share their `sending` write (`markSendingMany`); each POSTs only if its own row was written. */
  private readonly sendingWrites: GroupCommit<SendingWrite, boolean>

  constructor (private readonly deps: SmsSenderDeps) {
    this.outcomes = new OutcomeRecorder(deps)
    this.unknownOutcomes = new UnknownOutcomes(deps, this.outcomes)
    this.sentWrites = new GroupCommit((writes) => deps.messages.markSentMany(writes))
    this.firstReads = new GroupCommit((ids) => deps.messages.findWithStampMany(ids))
    this.sendingWrites = new GroupCommit((writes) => deps.messages.markSendingMany(writes))
  }

  /** `trace`: the job's id and the api request that queued it (none when the reconciler did), on every line about this SMS. */
  async send (messageId: string, trace: { jobId?: string, requestId?: string } = {}): Promise<SendDecision> {
    const log = this.deps.logger.child({ requestId: trace.requestId, jobId: trace.jobId, messageId })
    const found = await this.firstReads.write(messageId)
    if (!found) {
      log.warn('send job for a message that is not in the outbox; dropped')
      return skipped
    }
    // On this job's own logger, not a further child: one child per SMS.
    log.setBindings({ clientId: found.message.clientId })
    const first = await this.sendAsStored(found, log)
    if (first.kind !== 'credential_moved') return first
    this.deps.credentials.forget(found.message.clientId)
    const again = await this.sendAsStored(first.stored, log)
    if (again.kind !== 'credential_moved') return again
    // Moved on twice within one job: the job runs again rather than hold its slot chasing it.
    log.info('the client\'s connection changed twice while this message was being sent; trying again')
    return { kind: 'later', delayMs: 0, reason: 'retry' }
  }

  /** One pass over the message as read with its client's stamp (and its contact's DND). */
  private async sendAsStored ({ message, stamp, recipientDnd }: MessageAsStored, log: Logger): Promise<SendDecision | CredentialMoved> {
    const { ghl, metrics } = this.deps
    if (message.status === 'sent' || message.status === 'failed') return skipped
    if (message.status === 'cancelled') {
      // Cancelled while its job was running (or could not be removed): it leaves the client's backlog here.
      await this.outcomes.leftBacklog(message, log)
      return skipped
    }
    if (message.status === 'sending') return this.unknownOutcomes.settle(message, log)
    const hold = await this.deps.release.waitMs(message)
    if (hold > 0) return { kind: 'later', delayMs: hold, reason: 'scheduled' }

    // queued: a token, a rate-limit slot and the recipient first; nothing is POSTed yet.
    let credential: Credential
    try {
      credential = await this.deps.credentials.forClient(message.clientId, stamp)
    } catch (err) {
      return this.failedBeforePost(message, err, log)
    }
    const channel = sendChannelOf(message)
    const wait = await this.deps.rateLimiter.reserve(credential.locationId, message.id, channel.callsFor(message))
    if (wait > 0) {
      metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'location_rate_limit' })
      return { kind: 'later', delayMs: wait, reason: 'rate_limited' }
    }

    const withToken = withFreshToken(this.deps.tokens, credential)
    const beforePage = (page: number) => this.reserveSearchPage(credential.locationId, message.id, page)
    let contact: ResolvedContact
    try {
      contact = await withToken((token) => channel.resolve(ghl, metrics, token, message, beforePage))
    } catch (err) {
      if (err instanceof SearchPageDeferred) {
        metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'location_rate_limit' })
        return { kind: 'later', delayMs: err.delayMs, reason: 'rate_limited' }
      }
      return this.failedBeforePost(message, err, log)
    }
    // An opted-out contact (or, for email, one without an address) is never POSTed to: failed from `queued`, no attempt spent.
    const refusal = await channel.refusal(withDndRead(this.deps.contactDnd, recipientDnd), credential.locationId, contact)
    if (refusal) return this.outcomes.failed(message, refusal, { countAttempt: false }, log)
    // The POST goes with the token the lookup ended with, and shares its one refresh.
    return this.post(message, withToken.credential, contact.id, log, withToken.refreshed)
  }

  /**
   * queued -> sending -> POST. A 401 (expired token) sends nothing: the row goes back to `queued`
   * while the token is refreshed (the refresh may wait for another process's lock, and a row
   * left `sending` that long would be taken for an orphan), then a new attempt POSTs once more.
   */
  private async post (message: OutboxMessage, credential: Credential, contactId: string, log: Logger, alreadyRefreshed: boolean): Promise<SendDecision | CredentialMoved> {
    const { messages, ghl, metrics } = this.deps
    const channel = sendChannelOf(message)
    let refreshed = alreadyRefreshed
    for (;;) {
      const attemptId = randomUUID()
      // Only the attempt that wins this write POSTs, and only with a credential that is still the stored one.
      // A group's write that fails fails this job as a lone write did (the error goes up to the processor).
      if (!await this.sendingWrites.write({ id: message.id, attemptId, contactId, startedAt: new Date(), basis: credentialBasis(credential) })) {
        return this.sendingRefused(message, credential)
      }
      this.deps.credentials.confirmed(credential)
      let sent: SentIds
      try {
        sent = await channel.send(ghl, metrics, { accessToken: credential.accessToken, locationId: credential.locationId }, message, contactId)
      } catch (err) {
        const step = decideAfterPost(err, Math.random(), { canRefresh: credential.kind === 'oauth' && !refreshed })
        if (step.kind !== 'refresh_and_resend') return this.failedAfterPost(message, attemptId, step, err, log)
        if (credential.kind !== 'oauth') throw err // canRefresh said otherwise
        if (!await messages.backToQueued(message.id, attemptId, { countAttempt: false })) return skipped
        refreshed = true
        try {
          credential = oauthCredential(await this.deps.tokens.refreshNow(credential.clientId, credential.integration))
        } catch (refreshErr) {
          return this.failedBeforePost(message, refreshErr, log)
        }
        continue
      }
      // sending -> sent, as this attempt only
      const stored = await recordSent(messages, this.sentWrites, this.deps.receipts, message.id, attemptId, sent, log)
      if (stored) log.info({ ghlMessageId: sent.messageId, via: credential.kind, channel: message.channel }, `${message.channel} sent`)
      return this.outcomes.sent(message, sent, stored, log)
    }
  }

  /** Why the `sending` write was refused: the message moved on (another attempt, a cancel), or only the client's connection did. */
  private async sendingRefused (message: OutboxMessage, credential: Credential): Promise<SendDecision | CredentialMoved> {
    const now = await this.deps.messages.findWithStamp(message.id)
    if (!now || now.message.status !== 'queued' || basisHolds(credentialBasis(credential), now.stamp)) return skipped
    return { kind: 'credential_moved', stored: now }
  }

  /**
   * A name search's further page is one more call of the location's budget, taken like the
   * first: a slot soon is waited for here; a slot far off sends the job back to wait (its
   * reservation kept for it under the same holder).
   */
  private async reserveSearchPage (locationId: string, messageId: string, page: number): Promise<void> {
    const holder = `${messageId}:search-page-${page}`
    for (;;) {
      const wait = await this.deps.rateLimiter.reserve(locationId, holder, 1)
      if (wait <= 0) return
      if (wait > SEARCH_PAGE_MAX_WAIT_MS) throw new SearchPageDeferred(wait)
      await sleep(wait)
    }
  }

  /** The row is `queued`: nothing was sent. */
  private async failedBeforePost (message: OutboxMessage, err: unknown, log: Logger): Promise<SendDecision> {
    return this.carryOut(message, decideBeforePost(err, Math.random()), err, null, log)
  }

  /** The row is `sending` as `attemptId`: only an answer that proves nothing was sent puts it back in line. */
  private async failedAfterPost (message: OutboxMessage, attemptId: string, step: Exclude<AfterPostStep, { kind: 'refresh_and_resend' }>, err: unknown, log: Logger): Promise<SendDecision> {
    switch (step.kind) {
      case 'sent_without_ids': {
        log.warn({ err }, 'HighLevel accepted the SMS but its answer could not be read; recorded as sent without ids')
        const stored = await this.deps.messages.markSent(message.id, attemptId, { messageId: null, conversationId: null })
        return this.outcomes.sent(message, { messageId: null, conversationId: null }, stored, log)
      }
      case 'nothing_sent':
        if (!await this.deps.messages.backToQueued(message.id, attemptId, { countAttempt: false })) return skipped
        return this.carryOut(message, step.then, err, null, log)
      case 'outcome_unknown': {
        log.warn({ err }, 'HighLevel\'s answer to the SMS was lost; asking HighLevel whether it took it before anything else')
        const row = await this.deps.messages.markOutcomeUnknown(message.id, attemptId, step.failure)
        if (!row) return skipped
        return this.unknownOutcomes.settle(row, log)
      }
      default:
        return this.carryOut(message, step, err, attemptId, log)
    }
  }

  /** `attemptId` null: the row is `queued`; else it is `sending` as that attempt. */
  private async carryOut (message: OutboxMessage, step: NextStep, err: unknown, attemptId: string | null, log: Logger): Promise<SendDecision> {
    switch (step.kind) {
      case 'rethrow':
        throw err
      case 'defer':
        this.deps.metrics?.smsOutcomes.inc({ outcome: 'deferred', code: 'ghl_429' })
        return { kind: 'later', delayMs: step.delayMs, reason: 'rate_limited' }
      case 'fail':
        return this.outcomes.failed(message, step.failure, { attemptId: attemptId ?? undefined, countAttempt: step.countAttempt }, log)
      case 'retry': {
        // The try is counted: in place while `queued`; from `sending` the row goes back to `queued` with it.
        const row = attemptId === null
          ? await this.deps.messages.recordAttempt(message.id, step.failure)
          : await this.deps.messages.backToQueued(message.id, attemptId, { countAttempt: true, failure: step.failure, retrying: true })
        if (!row) return skipped
        return this.outcomes.retryOrFail(row, step, log)
      }
    }
  }
}
