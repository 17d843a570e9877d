/** What other workspace packages (bench, the client's tests) use of the worker in their own process. */
export { TokenSweep, type SweepResult } from './tokens/token-sweep.ts'
export { CrmEventDelivery } from './crm-events/crm-event-delivery.ts'
