export * from './database.ts'
export * from './env.ts'
export * from './sandbox.ts'
