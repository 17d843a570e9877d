/**
 * What both reconcilers do (SMS and CRM events): PostgreSQL says what is still to do, Redis
 * should hold a job for each. Page through the rows; a row whose job is gone is queued again,
 * one whose job finished (failed, or completed with the row unfinished) first loses that job
 * so the same job id can be used again. A job still waiting, delayed or running is left alone.
 */
import type { JobState } from '@ghl-connect/queues'

export interface ReconcileResult { checked: number, requeued: number }

export interface LostJobs<T> {
  /** The next page of unfinished rows after `after` (in a stable order), at most `pageSize`. */
  page: (after: T | undefined) => Promise<T[]>
  pageSize: number
  jobState: (row: T) => Promise<JobState>
  removeJob: (row: T) => Promise<void>
  enqueue: (row: T) => Promise<unknown>
}

export async function requeueLost<T> (jobs: LostJobs<T>): Promise<ReconcileResult> {
  const result: ReconcileResult = { checked: 0, requeued: 0 }
  let after: T | undefined
  for (;;) {
    const page = await jobs.page(after)
    if (page.length === 0) break
    const states = await Promise.all(page.map((row) => jobs.jobState(row)))
    for (const [i, row] of page.entries()) {
      const state = states[i]
      if (state === 'pending') continue
      if (state === 'failed' || state === 'completed') await jobs.removeJob(row)
      await jobs.enqueue(row)
      result.requeued++
    }
    result.checked += page.length
    after = page[page.length - 1]
    if (page.length < jobs.pageSize) break
  }
  return result
}
