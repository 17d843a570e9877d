export * from './boot.ts'
export * from './metrics-access.ts'
export * from './readiness.ts'
export * from './shutdown.ts'
