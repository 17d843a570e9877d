export * from './database.ts'
export * from './env.ts'
