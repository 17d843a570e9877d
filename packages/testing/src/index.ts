export * from '@ghl-connect/db/testing'
export * from './env.ts'
export * from './sandbox.ts'
export * from './crm-receiver.ts'
