export * from './lock.ts'
export * from './token-service.ts'
