/**
 * A delivery status still `pending` DELIVERY_STATUS_TIMEOUT_SECONDS after the send (neither a
 * webhook nor gap filling brought one): HighLevel is asked for the message by id, once. What it
 * says now is applied; if it still says `pending` (or no longer has the message) the SMS is
 * reported `unknown` in `sms.delivery` instead of staying pending forever. A later report of
 * HighLevel's still replaces `unknown` (domain/delivery-status.ts). Paid from the same
 * per-location budget as gap filling (gap-filler.ts).
 */
import { deliveryStatusOf, type DeliveryStatus, type GapFillRepository, type OverduePending } from '@ghl-connect/db'
import type { MessageReports } from '@ghl-connect/core'
import { isGhlError, type GhlClient } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { LocationRateLimiter } from '@ghl-connect/rate-limits'
import { oauthCredential, withFreshToken, type TokenService } from '@ghl-connect/tokens'
import { burstOf } from './gap-filler.ts'

/** Overdue SMS asked about per run, at most (the budget paces each location anyway). */
const BATCH = 200

export interface DeliveryTimeoutDeps {
  gapFill: GapFillRepository
  reports: MessageReports
  tokens: TokenService
  ghl: GhlClient
  rateLimiter: LocationRateLimiter
  logger: Logger
  metrics?: Metrics
}

export class DeliveryTimeout {
  constructor (private readonly deps: DeliveryTimeoutDeps, private readonly opts: { deliveryTimeoutMs: number, callsPerDay: number }) {}

  async run (now = new Date()): Promise<{ asked: number, unknown: number, reported: number }> {
    const overdue = await this.deps.gapFill.overduePending(new Date(now.getTime() - this.opts.deliveryTimeoutMs), BATCH)
    const result = { asked: 0, unknown: 0, reported: 0 }
    const outOfBudget = new Set<string>()
    for (const message of overdue) {
      if (outOfBudget.has(message.locationId)) continue
      try {
        const status = await this.ask(message)
        if (status === null) {
          outOfBudget.add(message.locationId)
          continue
        }
        result.asked++
        const final: DeliveryStatus = status === 'pending' ? 'unknown' : status
        const outcome = await this.deps.reports.deliveryStatusSeen(message, { ghlMessageId: message.ghlMessageId, status: final, errorCode: null, errorMessage: null, reportedAt: new Date() })
        if (outcome.kind === 'applied') {
          if (final === 'unknown') result.unknown++
          else {
            result.reported++
            this.deps.metrics?.gapFillFound.inc({ type: 'sms.delivery' })
          }
        }
      } catch (err) {
        // HighLevel busy or down, a token that cannot be had: asked again next run.
        this.deps.logger.warn({ err, messageId: message.id, clientId: message.clientId }, 'could not ask HighLevel for a pending delivery status; next run')
      }
    }
    if (result.asked > 0) this.deps.logger.info(result, 'pending delivery statuses past the timeout asked for')
    return result
  }

  /** HighLevel's status of the message now (`pending` when it has nothing more, or no longer has it); null when the budget is spent. */
  private async ask (message: OverduePending): Promise<DeliveryStatus | null> {
    const { deps } = this
    if (!await deps.gapFill.takeCall(message.locationId, this.opts.callsPerDay, burstOf(this.opts.callsPerDay))) return null
    const { waitMs } = await deps.rateLimiter.take(message.locationId, `delivery-timeout:${message.id}`, 1, { maxWaitMs: 1 })
    if (waitMs > 0) return null
    deps.metrics?.gapFillCalls.inc({ operation: 'getMessage' })
    const call = withFreshToken(deps.tokens, oauthCredential(await deps.tokens.getFresh(message.clientId)))
    try {
      const { data } = await call((token) => timeGhlCall(deps.metrics, 'getMessage', () =>
        deps.ghl.messages.get({ accessToken: token.accessToken, locationId: message.locationId, messageId: message.ghlMessageId })))
      return deliveryStatusOf(data.status) ?? 'pending'
    } catch (err) {
      // HighLevel does not know the id (deleted, or never listed): nothing more will come.
      if (isGhlError(err) && (err.kind === 'invalid_request' || err.status === 404)) return 'pending'
      throw err
    }
  }
}
