import { loadApiConfig, loadOrExit } from '@ghl-connect/config'
import { createLogger, registerSecrets } from '@ghl-connect/logging'
import { buildApp } from './app.ts'
import { createRuntime } from './runtime.ts'

const config = loadOrExit(loadApiConfig)
registerSecrets(config.ghl.clientSecret, config.http.connectLinkSecret, config.http.cookieSecret, config.http.admin.password,
  ...config.http.apiKeys, config.crmEvents?.secret, config.legacyPit?.token)
const logger = createLogger({ level: config.runtime.logLevel, name: 'api' })
const app = await buildApp(createRuntime(config, logger))

let closing = false
async function shutdown (signal: string) {
  if (closing) return
  closing = true
  logger.info({ signal }, 'shutting down')
  const force = setTimeout(() => { logger.error('shutdown took too long; exiting'); process.exit(1) }, 10_000)
  force.unref()
  await app.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))

await app.listen({ port: config.http.port, host: config.http.host })
