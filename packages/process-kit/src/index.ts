export * from './boot.ts'
export * from './readiness.ts'
export * from './shutdown.ts'
