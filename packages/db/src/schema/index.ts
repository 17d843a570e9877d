export * from './integrations.ts'
export * from './sms-messages.ts'
export * from './webhook-receipts.ts'
