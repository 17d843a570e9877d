export * from './core.ts'
export * from './crm-events.ts'
export * from './message-reports.ts'
export * from './invalidation-feed.ts'
