/**
 * The sweep: every TOKEN_SWEEP_EVERY_SECONDS, queue a refresh for every active integration whose
 * token expires within the horizon, so no SMS ever waits for a refresh. It pages through the
 * expiry index and adds jobs in bulk (one Redis round trip per page), and spreads the refreshes
 * with jitter so ten thousand tokens expiring together do not become ten thousand calls at once.
 * The job id per client deduplicates: a refresh already queued is not queued twice.
 */
import type { IntegrationsRepository, ExpiringIntegration } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import { jobIds, type Queues } from '@ghl-connect/queues'

export interface SweepResult { scanned: number, pages: number }

const PAGE = 1000
/** Refresh at least this long before expiry, so the jitter never lets a token lapse. */
const SAFETY_MS = 60_000

export class TokenSweep {
  constructor (
    private readonly integrations: IntegrationsRepository,
    private readonly tokensQueue: Queues['tokens'],
    private readonly logger: Logger,
    private readonly opts: { horizonMs: number, everyMs: number },
  ) {}

  async run (now = Date.now()): Promise<SweepResult> {
    const before = new Date(now + this.opts.horizonMs)
    let after: ExpiringIntegration | undefined
    const result: SweepResult = { scanned: 0, pages: 0 }
    for (;;) {
      const page = await this.integrations.listExpiring(before, PAGE, after)
      if (page.length === 0) break
      const last = page[page.length - 1]!
      if (after && last.id === after.id) {
        // The keyset did not move (an expiry stored with more precision than a JS Date holds): stop rather than loop.
        this.logger.error({ after }, 'token sweep pagination did not advance; stopping this sweep')
        break
      }
      await this.tokensQueue.addBulk(page.map((i) => ({
        name: 'refresh' as const,
        data: { clientId: i.clientId },
        opts: { jobId: jobIds.tokenRefresh(i.clientId), delay: this.jitter(i, now) },
      })))
      result.scanned += page.length
      result.pages++
      after = last
      if (page.length < PAGE) break
    }
    this.logger.info({ ...result, horizonMs: this.opts.horizonMs }, 'token sweep queued refreshes')
    return result
  }

  /** Anywhere before the next sweep, and before the token gets close to expiring. */
  private jitter (i: ExpiringIntegration, now: number): number {
    const room = Math.min(this.opts.everyMs, i.expiresAt.getTime() - now - SAFETY_MS)
    return Math.floor(Math.random() * Math.max(1000, room))
  }
}
