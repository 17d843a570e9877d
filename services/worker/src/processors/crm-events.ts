import type { Job } from 'bullmq'
import type { CrmEventJob } from '@ghl-connect/queues'
import type { CrmEventDelivery } from '../crm-events/crm-event-delivery.ts'

/** `crm-events` / `deliver`: POST the signed event; a non-2xx throws and BullMQ retries with backoff. */
export function crmEventsProcessor (delivery: CrmEventDelivery) {
  return async (job: Job<CrmEventJob>) => delivery.deliver(job.data)
}
