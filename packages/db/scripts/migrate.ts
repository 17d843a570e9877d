import { loadMigrateConfig, loadOrExit } from '@ghl-connect/config'
import { migrateDatabase } from '../src/migrate.ts'

const config = loadOrExit(loadMigrateConfig)
const where = new URL(config.database.url)
try {
  await migrateDatabase(config.database.url, { onNotice: (message) => console.log(`migration: ${message}`) })
  console.log(`migrations applied to ${where.host}${where.pathname}`)
} catch (err) {
  console.error(`migration failed on ${where.host}${where.pathname}: ${(err as Error).message}`)
  process.exit(1)
}
