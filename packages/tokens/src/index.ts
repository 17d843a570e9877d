export * from './lock.ts'
export * from './token-service.ts'
export * from './ghl-endpoint.ts'
