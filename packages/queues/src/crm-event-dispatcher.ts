/**
 * Puts deliveries of recorded CRM events on the queue: the code that records an event, and the
 * worker's events reconciler, both come through here. The job id is the event id, so queuing an
 * event twice while its job exists adds nothing.
 */
import { jobIds, jobStateOf, type JobState, type TypedQueue } from './contract.ts'

export class CrmEventDispatcher {
  constructor (private readonly queue: TypedQueue<'crm-events'>) {}

  async enqueue (eventId: string): Promise<void> {
    await this.queue.add('deliver', { eventId }, { jobId: jobIds.crmEvent(eventId) })
  }

  /** What BullMQ holds for an event's delivery, as the reconciler needs to know it. */
  async jobState (eventId: string): Promise<JobState> {
    return jobStateOf(this.queue, jobIds.crmEvent(eventId))
  }

  /** Drops a finished job so the event can be queued again under the same id. */
  async removeJob (eventId: string): Promise<void> {
    await this.queue.remove(jobIds.crmEvent(eventId))
  }
}
