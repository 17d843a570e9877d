export * from "./lock.ts"
