import type { JobState } from '@ghl-connect/queues'

/** A dispatcher of the SMS or CRM events queue: its job id is derived from the row's id. */
interface Dispatcher {
  jobState: (id: string) => Promise<JobState>
  removeJob: (id: string) => Promise<void>
}

/**
 * Queues again rows just claimed (back to queued/pending) in PostgreSQL: a job kept from the
 * earlier run (completed or failed) holds the job id and would make BullMQ ignore the new add,
 * so it goes first. Returns how many could not be queued (Redis failing): those rows are still
 * claimed, and the worker's reconcilers queue them.
 */
export async function queueAgain (ids: string[], dispatcher: Dispatcher, enqueue: (id: string) => Promise<unknown>): Promise<{ queued: number, notQueued: number }> {
  let queued = 0
  for (const id of ids) {
    try {
      const state = await dispatcher.jobState(id)
      if (state === 'failed' || state === 'completed') await dispatcher.removeJob(id)
      await enqueue(id)
      queued++
    } catch {
      // Redis is failing: the rest would fail too, and the reconcilers cover every one of them.
      break
    }
  }
  return { queued, notQueued: ids.length - queued }
}
