export * from './core.ts'
export * from './crm-events.ts'
