import type { JobOf } from '@ghl-connect/queues'
import type { TokenRefresher } from '../tokens/token-refresh.ts'
import type { TokenSweep } from '../tokens/token-sweep.ts'
import { unknownJob } from '../worker-manager.ts'

/**
 * `tokens`: `refresh-batch` some clients ahead of expiry; `refresh-agencies` renews agency
 * connections unused for AGENCY_REFRESH_DAYS; `sweep` (job scheduler) queues both; `refresh` (one
 * client) as queued before batches.
 */
export function tokensProcessor (refresher: TokenRefresher, sweep: TokenSweep) {
  return async (job: JobOf<'tokens'>) => {
    if (job.name === 'refresh-batch') return refresher.refreshBatch(job.data.clientIds)
    if (job.name === 'refresh-agencies') return refresher.refreshAgencies(job.data.integrationIds)
    if (job.name === 'refresh') return refresher.refresh(job.data.clientId)
    if (job.name === 'sweep') return sweep.run()
    throw unknownJob('tokens', job)
  }
}
