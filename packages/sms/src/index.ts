export * from './dispatcher.ts'
