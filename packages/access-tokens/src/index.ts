export * from './scopes.ts'
export * from './client-access-tokens.ts'
