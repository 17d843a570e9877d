export * from './constant-time.ts'
