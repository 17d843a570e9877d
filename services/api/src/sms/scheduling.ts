/**
 * When and from which number an SMS taken in goes out, and cancelling one that has not started.
 * A scheduled message waits in the outbox (its row's send_at); it gets a delayed send job when it
 * is due within SCHEDULE_QUEUE_AHEAD_MS, else the worker's reconciler gives it one when that
 * time comes. Quiet hours push the time at intake here, and again in the worker at release.
 */
import type { ClientSettingsRepository, MessageChannel, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { SCHEDULE_MAX_AHEAD_MS, SCHEDULE_PAST_GRACE_MS, SCHEDULE_QUEUE_AHEAD_MS, sendAtForNewMessage } from '@ghl-connect/db'
import { badRequest, conflict, notFound } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { SmsDispatcher } from '@ghl-connect/queues'
import { E164 } from './e164.ts'

/** ISO 8601 with a date, a time and an explicit offset: a time without one would be read in the server's zone. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

export interface SendPlan {
  /** null: at once. */
  sendAt: Date | null
  fromNumber: string | null
}

/** The scheduling fields of a message as the CRM sent them. */
export interface SendRequest { sendAt?: string, fromNumber?: string }

/** Those fields checked; the client's settings not applied yet (null: not given). */
export interface CheckedSendRequest { sendAt: Date | null, fromNumber: string | null }

export class SmsScheduling {
  constructor (
    private readonly settings: Pick<ClientSettingsRepository, 'find'>,
    private readonly messages: SmsMessagesRepository,
    private readonly dispatcher: SmsDispatcher,
    private readonly logger: Logger,
  ) {}

  /** Checks `sendAt` and `fromNumber` as the CRM sent them and applies the client's settings. */
  async plan (clientId: string, request: SendRequest, now = new Date(), channel: MessageChannel = 'sms'): Promise<SendPlan> {
    const asked = this.check(request, now)
    return (await this.plannerFor(clientId, now, channel))(asked)
  }

  /** `sendAt` and `fromNumber` checked on their own (a bad one throws its 400), before any client's settings. */
  check (request: SendRequest, now = new Date()): CheckedSendRequest {
    const sendAt = request.sendAt === undefined ? null : parseSendAt(request.sendAt, now)
    if (request.fromNumber !== undefined && !E164.test(request.fromNumber)) {
      throw invalid('fromNumber', 'fromNumber must be one of the sub-account\'s numbers in E.164 format: + then the country code and number, digits only (e.g. +15550100000).')
    }
    return { sendAt, fromNumber: request.fromNumber ?? null }
  }

  /**
   * The rule for one client's messages: its settings are read once here, so a batch plans all of a
   * client's messages with one read, by the same rule as a single SMS.
   */
  async plannerFor (clientId: string, now = new Date(), channel: MessageChannel = 'sms'): Promise<(asked: CheckedSendRequest) => SendPlan> {
    // Quiet hours and the sender number are SMS's: an email goes at its time, from its own sender.
    if (channel === 'email') return (asked) => ({ sendAt: asked.sendAt, fromNumber: null })
    const settings = await this.settings.find(clientId)
    return (asked) => ({
      sendAt: sendAtForNewMessage(asked.sendAt, settings.quietHours, now),
      fromNumber: asked.fromNumber ?? settings.defaultFromNumber,
    })
  }

  /** Whether the send job is queued now (delayed to its time) or left to the reconciler. */
  queuesNow (sendAt: Date | null, now = Date.now()): boolean {
    return sendAt === null || sendAt.getTime() - now <= SCHEDULE_QUEUE_AHEAD_MS
  }

  /**
   * Cancels a message no attempt has started. Cancelling it again answers the same; one an attempt
   * holds (`sending`) or that ended is refused with its status.
   */
  async cancel (id: string, channel: MessageChannel = 'sms'): Promise<void> {
    const cancelled = await this.messages.cancel(id, channel)
    if (cancelled) {
      // Its job, if any, goes too; one already running finds the row cancelled and sends nothing.
      await this.dispatcher.withdraw(cancelled).catch((err) => {
        this.logger.warn({ err, messageId: id }, 'sms cancelled; its job could not be removed (Redis) and will find the row cancelled')
      })
      return
    }
    const message: OutboxMessage | null = await this.messages.findById(id)
    const what = channel === 'email' ? 'email' : 'SMS'
    if (!message || message.channel !== channel) throw notFound(`${channel}_not_found`, `There is no ${what} with id ${id}; use the id POST /api/${channel} answered.`)
    if (message.status === 'cancelled') return
    throw conflict('not_cancellable', message.status === 'sending'
      ? `This ${what} is being sent right now (status sending), so it can no longer be cancelled.`
      : `This ${what} can no longer be cancelled: its status is ${message.status}.`)
  }
}

function parseSendAt (value: string, now: Date): Date {
  const at = ISO_WITH_OFFSET.test(value) ? new Date(value) : null
  if (!at || Number.isNaN(at.getTime())) {
    throw invalid('sendAt', 'sendAt must be an ISO 8601 time with its offset, e.g. "2026-03-14T09:00:00-04:00" or "2026-03-14T13:00:00Z".')
  }
  const ahead = at.getTime() - now.getTime()
  if (ahead < -SCHEDULE_PAST_GRACE_MS) {
    throw badRequest('send_at_in_past', 'sendAt is in the past; leave it out to send now, or give a time up to 30 days ahead.', { fields: { sendAt: 'in the past' } })
  }
  if (ahead > SCHEDULE_MAX_AHEAD_MS) {
    throw badRequest('send_at_too_far', 'sendAt is more than 30 days ahead; schedule it at most 30 days in advance.', { fields: { sendAt: 'more than 30 days ahead' } })
  }
  // A moment in the past within the grace (clock skew) means now.
  return ahead < 0 ? now : at
}

function invalid (field: string, message: string) {
  return badRequest('invalid_request', message, { fields: { [field]: message } })
}
