import type { JobOf } from '@ghl-connect/queues'
import type { CrmEventDelivery } from '../crm-events/crm-event-delivery.ts'

/** `crm-events` / `deliver`: POST the signed event; a non-2xx throws and BullMQ retries with backoff. */
export function crmEventsProcessor (delivery: CrmEventDelivery) {
  return async (job: JobOf<'crm-events'>) => delivery.deliver(job.data)
}
