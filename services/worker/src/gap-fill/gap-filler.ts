/**
 * Gap filling: HighLevel retries a webhook only when we answer 429, so a reply or a delivery
 * report lost on the way (a deploy, a network fault, a 500) would be lost for good. For each
 * location with recent traffic, HighLevel's message export is read incrementally (oldest first
 * from the location's cursor, gap_fill_cursors) and whatever no webhook told us goes through the
 * same path the webhook takes (packages/core message-reports.ts): the same event, the same id.
 *
 * Every HighLevel call it makes (export pages, the contact a found reply names) is paid from the
 * location's gap-filling budget (a token bucket, GAP_FILL_BUDGET_PERCENT of the daily 200,000)
 * and takes a slot of the location's shared rate limiter. A location without traffic in
 * GAP_FILL_DAYS is not read at all. A pass that runs out of budget goes on from HighLevel's
 * cursor next time.
 */
import type { GapFillRepository, TrafficLocation } from '@ghl-connect/db'
import { crmEventOf, deliveryStatusOf, supersedes, type CrmEventsRepository } from '@ghl-connect/db'
import type { MessageReports } from '@ghl-connect/core'
import { isGhlError, type GhlClient, type GhlMessage } from '@ghl-connect/ghl'
import type { Logger } from '@ghl-connect/logging'
import { timeGhlCall, type Metrics } from '@ghl-connect/metrics'
import type { LocationRateLimiter } from '@ghl-connect/rate-limits'
import { oauthCredential, withFreshToken, type TokenService } from '@ghl-connect/tokens'

/** HighLevel's clock and ours may differ, and its export may list a message a little late: each pass starts this much before the cursor. */
export const GAP_FILL_OVERLAP_MS = 60_000
/** The export's largest page (the spec's maximum). */
const PAGE_SIZE = 500
const DAY_MS = 86_400_000

export interface GapFillOptions {
  days: number
  /**
   * A message younger than this is left to its webhook (HighLevel sends them within seconds): the
   * export is read only up to now minus this, so no call is spent on what a webhook is bringing.
   */
  graceMs: number
  callsPerDay: number
  deliveryTimeoutMs: number
}

export interface GapFillDeps {
  gapFill: GapFillRepository
  reports: MessageReports
  /** Null without CRM_WEBHOOK_URL: replies then have nowhere to go and are not looked for. */
  eventsOutbox: CrmEventsRepository | null
  tokens: TokenService
  ghl: GhlClient
  rateLimiter: LocationRateLimiter
  logger: Logger
  metrics?: Metrics
}

export interface GapFillRun { locations: number, calls: number, replies: number, statuses: number, lagSeconds: number }

/** Which of our events an exported message can make: the message's type decides (email would join here). */
type Found = { kind: 'reply', message: GhlMessage } | { kind: 'status', message: GhlMessage }
function classify (m: GhlMessage): Found | null {
  if (m.messageType !== 'TYPE_SMS') return null
  return m.direction === 'inbound' ? { kind: 'reply', message: m } : { kind: 'status', message: m }
}

/** How many calls a location may save up: ten minutes' worth, at least 2 (a page and the contact of a reply on it). */
export const burstOf = (callsPerDay: number) => Math.max(2, callsPerDay / 144)

export class GapFiller {
  constructor (private readonly deps: GapFillDeps, private readonly opts: GapFillOptions) {}

  async run (now = new Date()): Promise<GapFillRun> {
    const locations = await this.deps.gapFill.trafficLocations(new Date(now.getTime() - this.opts.days * DAY_MS))
    const run: GapFillRun = { locations: locations.length, calls: 0, replies: 0, statuses: 0, lagSeconds: 0 }
    for (const location of locations) {
      try {
        const lagMs = await this.fill(location, run, now)
        run.lagSeconds = Math.max(run.lagSeconds, Math.round(lagMs / 1000))
      } catch (err) {
        // One location's trouble (its token, HighLevel down for it) must not stop the others.
        this.deps.logger.warn({ err, clientId: location.clientId, locationId: location.locationId }, 'gap filling could not read this location now; next run')
      }
    }
    this.deps.metrics?.gapFillCursorLag.set(run.lagSeconds)
    if (run.replies + run.statuses > 0 || run.calls > 0) this.deps.logger.info(run, 'gap filling ran')
    return run
  }

  /** One location: a pass (or the rest of one) through the export, as far as the budget goes. Returns how far behind now it was left (0: read to the end). */
  private async fill (location: TrafficLocation, run: GapFillRun, now: Date): Promise<number> {
    const { gapFill } = this.deps
    const cursor = await gapFill.cursorOf(location.locationId)
    const from = cursor?.passFrom ?? await this.passStart(location, cursor?.readUntil ?? null, now)
    let pageCursor = cursor?.passFrom ? cursor.pageCursor : null
    let newest = cursor?.readUntil ?? null
    // Up to a little before now: what is younger, its webhook is bringing.
    const until = new Date(now.getTime() - this.opts.graceMs)
    const phones = new Map<string, string | null>()
    const call = withFreshToken(this.deps.tokens, oauthCredential(await this.deps.tokens.getFresh(location.clientId)))
    for (;;) {
      if (!await this.spend(location, run)) break
      let page
      try {
        page = await call((token) => timeGhlCall(this.deps.metrics, 'exportMessages', () => this.deps.ghl.messages.export({
          accessToken: token.accessToken, locationId: location.locationId, channel: 'SMS', startDate: from, endDate: until,
          sortBy: 'createdAt', sortOrder: 'asc', limit: PAGE_SIZE, cursor: pageCursor ?? undefined,
        })))
      } catch (err) {
        // HighLevel's cursor is a point in time that expires: a refused one starts the pass again.
        if (pageCursor && isGhlError(err) && err.kind === 'invalid_request') {
          await gapFill.savePass(location.locationId, { readUntil: cursor?.readUntil ?? null, passFrom: null, pageCursor: null, lastTrafficAt: null })
        }
        throw err
      } finally {
        this.deps.metrics?.gapFillCalls.inc({ operation: 'exportMessages' })
      }
      await this.take(location, page.data.messages, run, phones)
      const seen = latest(page.data.messages)
      if (seen && (!newest || seen > newest)) newest = seen
      if (!page.data.nextCursor) {
        await gapFill.savePass(location.locationId, { readUntil: newest, passFrom: null, pageCursor: null, lastTrafficAt: seen })
        return 0
      }
      pageCursor = page.data.nextCursor
      await gapFill.savePass(location.locationId, { readUntil: cursor?.readUntil ?? null, passFrom: from, pageCursor, lastTrafficAt: seen })
    }
    // Out of budget: the pass goes on from where it stopped next run.
    await gapFill.savePass(location.locationId, { readUntil: cursor?.readUntil ?? null, passFrom: from, pageCursor, lastTrafficAt: null })
    return now.getTime() - from.getTime()
  }

  /**
   * Where a new pass starts: a little before what the last one read, or before the oldest SMS
   * still awaiting its delivery status (its report may come any time), whichever is older.
   * Statuses older than the timeout are the timeout's (delivery-timeout.ts).
   */
  private async passStart (location: TrafficLocation, readUntil: Date | null, now: Date): Promise<Date> {
    const horizon = now.getTime() - this.opts.days * DAY_MS
    let start = readUntil ? readUntil.getTime() - GAP_FILL_OVERLAP_MS : horizon
    const pending = await this.deps.gapFill.oldestPending(location.clientId, new Date(now.getTime() - this.opts.deliveryTimeoutMs))
    if (pending) start = Math.min(start, pending.getTime() - GAP_FILL_OVERLAP_MS)
    return new Date(Math.max(start, horizon))
  }

  /** Acts on one page. */
  private async take (location: TrafficLocation, messages: GhlMessage[], run: GapFillRun, phones: Map<string, string | null>): Promise<void> {
    const found = messages.map(classify).filter((f): f is Found => f !== null)
    const statuses = found.filter((f) => f.kind === 'status').map((f) => f.message)
    const held = await this.deps.gapFill.deliveryStatusesOf(statuses.map((m) => m.id))
    const reportedAt = new Date()
    for (const m of statuses) {
      const status = deliveryStatusOf(m.status)
      // Only our own SMS (an outbox row holds the id), and only news.
      if (!status || !held.has(m.id) || !supersedes({ status, reportedAt }, { status: held.get(m.id) ?? null, at: null })) continue
      const outcome = await this.deps.reports.deliveryStatusSeen(location, { ghlMessageId: m.id, status, errorCode: null, errorMessage: null, reportedAt })
      if (outcome.kind === 'applied') {
        run.statuses++
        this.deps.metrics?.gapFillFound.inc({ type: 'sms.delivery' })
      }
    }
    if (!this.deps.eventsOutbox) return
    const replies = found.filter((f) => f.kind === 'reply' && f.message.contactId).map((f) => f.message)
    const eventIds = replies.map((m) => crmEventOf.smsReceived(replyOf(m)).id)
    const known = await this.deps.eventsOutbox.existing(eventIds)
    for (const [i, m] of replies.entries()) {
      if (known.has(eventIds[i]!)) continue
      // The reply's contact is read from HighLevel (its number), once per run: one more call of the
      // budget. With the budget spent, the reply goes without its number rather than waiting
      // (waiting would spend the next call on this page again, and never reach the contact).
      const mayRead = async () => {
        if (!await this.spend(location, run)) return false
        this.deps.metrics?.gapFillCalls.inc({ operation: 'getContact' })
        return true
      }
      const outcome = await this.deps.reports.replySeen(location, { ...replyOf(m), contactId: m.contactId ?? '' }, { phones, mayRead })
      if (outcome === 'published') {
        run.replies++
        this.deps.metrics?.gapFillFound.inc({ type: 'sms.received' })
      }
    }
  }

  /** One call of the location's budget and a slot of its rate limit; false when the budget is spent for now. */
  private async spend (location: TrafficLocation, run: GapFillRun): Promise<boolean> {
    if (!await this.deps.gapFill.takeCall(location.locationId, this.opts.callsPerDay, burstOf(this.opts.callsPerDay))) return false
    // The slot is shared with the location's SMS and the proxy: a short wait is taken, a long one is left for next run.
    for (let tries = 0; tries < 3; tries++) {
      const { waitMs } = await this.deps.rateLimiter.take(location.locationId, `gap-fill:${location.locationId}`, 1, { maxWaitMs: 2000 })
      if (waitMs === 0) {
        run.calls++
        return true
      }
      if (waitMs > 2000) return false
      await new Promise((resolve) => setTimeout(resolve, waitMs))
    }
    return false
  }
}

function replyOf (m: GhlMessage) {
  const at = m.dateAdded ? Date.parse(m.dateAdded) : Number.NaN
  return {
    clientId: '', contactId: m.contactId ?? '', phone: null, body: m.body ?? '', conversationId: m.conversationId ?? null,
    messageId: m.id, receivedAt: Number.isFinite(at) ? new Date(at) : new Date(),
  }
}

function latest (messages: GhlMessage[]): Date | null {
  let max: number | null = null
  for (const m of messages) {
    const at = m.dateAdded ? Date.parse(m.dateAdded) : Number.NaN
    if (Number.isFinite(at) && (max === null || at > max)) max = at
  }
  return max === null ? null : new Date(max)
}
