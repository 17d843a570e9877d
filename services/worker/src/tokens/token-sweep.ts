/**
 * The sweep: every TOKEN_SWEEP_EVERY_SECONDS, queue a refresh for every active integration whose
 * token expires within the horizon (TOKEN_SWEEP_HORIZON_SECONDS, near two sweep periods), so no
 * SMS ever waits for a refresh. One index-only query per page of the expiry index, and one
 * `refresh-batch` job per BATCH clients of similar expiry (not one job per client: enqueueing
 * ten thousand delayed jobs was most of a sweep's time). Each batch starts at a random moment
 * before the next sweep and before its earliest token gets close to expiring, so tokens expiring
 * together do not become a burst of calls at once.
 *
 * A client may be in two batches (a batch of the previous sweep that has not run yet): the
 * refresher skips a token refreshed meanwhile, and the one refresh path (lock, lease) makes
 * sure a refresh token is never spent twice.
 *
 * Agency (Company) connections are renewed on use (each mint), so an agency idle for a year
 * would lose its refresh token, and every sub-account minted from it: the sweep also queues, in
 * one `refresh-agencies` job, the agencies whose refresh token is older than AGENCY_REFRESH_DAYS
 * (their own small partial index; at most AGENCY_PAGE a sweep, the oldest first).
 */
import type { IntegrationsRepository, ExpiringIntegration } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { Queues } from '@ghl-connect/queues'

export interface SweepResult { scanned: number, pages: number, jobs: number, agencies: number }

/** Rows per query: at 100k integrations one page holds a sweep's due tokens. */
export const SWEEP_PAGE = 5000
/** Agencies renewed per sweep at most (the rest wait for the next one; each renewed leaves the list). */
export const AGENCY_PAGE = 500
/** Clients per refresh job. */
export const REFRESH_BATCH = 50
/** Refresh at least this long before expiry, so the jitter never lets a token lapse. */
const SAFETY_MS = 60_000

export class TokenSweep {
  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly tokensQueue: Queues['tokens'],
    private readonly logger: Logger,
    private readonly opts: { horizonMs: number, everyMs: number, agencyRefreshMs: number },
  ) {}

  async run (now = Date.now()): Promise<SweepResult> {
    const before = new Date(now + this.opts.horizonMs)
    let after: ExpiringIntegration | undefined
    const result: SweepResult = { scanned: 0, pages: 0, jobs: 0, agencies: 0 }
    for (;;) {
      const page = await this.integrations.listExpiring(before, SWEEP_PAGE, after)
      if (page.length === 0) break
      const last = page[page.length - 1]!
      if (after && last.id === after.id) {
        // The keyset did not move (an expiry stored with more precision than a JS Date holds): stop rather than loop.
        this.logger.error({ after }, 'token sweep pagination did not advance; stopping this sweep')
        break
      }
      const jobs = []
      for (let i = 0; i < page.length; i += REFRESH_BATCH) {
        const batch = page.slice(i, i + REFRESH_BATCH)
        // The page is in expiry order: the batch's first token is the one to beat.
        jobs.push({ name: 'refresh-batch' as const, data: { clientIds: batch.map((b) => b.clientId) }, opts: { delay: this.jitter(batch[0]!, now) } })
      }
      await this.tokensQueue.addBulk(jobs)
      result.scanned += page.length
      result.jobs += jobs.length
      result.pages++
      after = last
      if (page.length < SWEEP_PAGE) break
    }
    const agencies = await this.integrations.listAgingAgencies(new Date(now - this.opts.agencyRefreshMs), AGENCY_PAGE)
    if (agencies.length > 0) {
      await this.tokensQueue.add('refresh-agencies', { integrationIds: agencies.map((a) => a.id) })
      result.agencies = agencies.length
      result.jobs++
    }
    this.logger.info({ ...result, horizonMs: this.opts.horizonMs }, 'token sweep queued refreshes')
    return result
  }

  /** Anywhere before the next sweep, and before the token gets close to expiring. */
  private jitter (first: ExpiringIntegration, now: number): number {
    const room = Math.min(this.opts.everyMs, first.expiresAt.getTime() - now - SAFETY_MS)
    return Math.floor(Math.random() * Math.max(1000, room))
  }
}
