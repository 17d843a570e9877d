/** Everything that touches BullMQ goes through this package: its typed contract, the queues, and the dispatchers that fill them. */
export * from './contract.ts'
export * from './queues.ts'
export * from './sms-dispatcher.ts'
export * from './crm-event-dispatcher.ts'
