import type { Job } from 'bullmq'
import type { TokenRefreshJob } from '@ghl-connect/queues'
import type { TokenRefresher } from '../tokens/token-refresh.ts'
import type { TokenSweep } from '../tokens/token-sweep.ts'

/** `tokens`: `refresh` one client ahead of expiry; `sweep` (job scheduler) queues those refreshes. */
export function tokensProcessor (refresher: TokenRefresher, sweep: TokenSweep) {
  return async (job: Job) => {
    if (job.name === 'refresh') return refresher.refresh((job.data as TokenRefreshJob).clientId)
    if (job.name === 'sweep') return sweep.run()
    throw new Error(`unknown job ${job.name} on the tokens queue`)
  }
}
