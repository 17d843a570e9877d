/**
 * The fence around spending a refresh token. The Redis lock (lock.ts) queues the callers of one
 * client cheaply, but its key can vanish while its holder works (a failover to a replica that
 * missed the write, a FLUSHALL, a TTL run out under a slow pool): a second process would then spend
 * the same single-use refresh token and disconnect the client. So whoever is about to call
 * HighLevel first takes a lease in PostgreSQL, the store that holds the token itself:
 *   - it is taken for the token version the holder read, by one statement that also refuses while
 *     another holder's lease runs (PostgreSQL's clock decides, so no two machines' clocks meet);
 *   - it is taken right before the call, and the call's deadline is cut from it: the call is
 *     aborted, and the answer kept (kept-answers.ts), before the lease can end.
 * A second spender therefore finds either a running lease (and waits), a newer version (the first
 * holder's write landed) or the first holder's kept answer; never a refresh token in flight.
 */
import { randomBytes } from 'node:crypto'
import type { Integration, TokenRefreshLeasesRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'

export interface FenceTimings {
  /** The token call's own deadline (TOKEN_CALL_TIMEOUT_MS). */
  callTimeoutMs: number
  /** What keeping an answer may take after the call, PostgreSQL then Redis. */
  keepBudgetMs: number
  /** Covers the statement's round trip and timer slack. */
  marginMs: number
}

export interface FenceHold {
  /** What is left for the token call, so that it ends, and its answer is kept, inside the lease. */
  callTimeoutMs: () => number
  release: () => Promise<void>
}

export class RefreshFence {
  readonly leaseMs: number

  constructor (private readonly leases: TokenRefreshLeasesRepository, private readonly timings: FenceTimings, private readonly logger: Logger) {
    this.leaseMs = timings.callTimeoutMs + timings.keepBudgetMs + timings.marginMs
  }

  /**
   * Waits (bounded) for the lease on spending `integration`'s refresh token. 'moved_on': the
   * version read was replaced meanwhile (re-read instead); null: another holder kept it all along.
   */
  async acquire (integration: Integration, waitMs: number): Promise<FenceHold | 'moved_on' | null> {
    const holder = randomBytes(16).toString('hex')
    const deadline = Date.now() + waitMs
    for (let tries = 0; ; tries++) {
      const askedAt = Date.now()
      const attempt = await this.leases.tryTake(integration.id, integration.tokenVersion, holder, this.leaseMs)
      if (attempt === 'taken') return this.hold(integration.id, holder, askedAt + this.leaseMs)
      if (attempt === 'moved_on') return 'moved_on'
      if (tries === 0) {
        // Callers reach the fence holding the Redis lock, and the lock outlives the lease: its key was lost.
        this.logger.warn({ clientId: integration.clientId }, 'another process holds the refresh lease although this one holds the refresh lock (its Redis key was lost): waiting for it instead of spending the refresh token')
      }
      if (Date.now() >= deadline) return null
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100))
    }
  }

  private hold (integrationId: string, holder: string, endsAt: number): FenceHold {
    const { callTimeoutMs, keepBudgetMs, marginMs } = this.timings
    return {
      callTimeoutMs: () => Math.min(callTimeoutMs, endsAt - keepBudgetMs - marginMs - Date.now()),
      release: () => this.leases.release(integrationId, holder),
    }
  }
}
