export * from './schema/index.ts'
export * from './database.ts'
export * from './migrate.ts'
export * from './token-cipher.ts'
export * from './repositories/integrations.ts'
export * from './repositories/sms-messages.ts'
export * from './repositories/webhook-receipts.ts'
// Consumers use this one copy of drizzle-orm's operators.
export { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql } from 'drizzle-orm'
