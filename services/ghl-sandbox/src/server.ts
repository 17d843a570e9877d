/** Standalone sandbox: `pnpm --filter ghl-sandbox start`, configured from the environment. */
import { loadOrExit, loadSandboxConfig } from '@ghl-connect/config'
import { createLogger, registerSecrets } from '@ghl-connect/logging'
import { buildSandbox } from './app.ts'

const config = loadOrExit(loadSandboxConfig)
registerSecrets(config.sandbox.clientSecret, config.sandbox.webhookPrivateKey)
const logger = createLogger({ level: config.runtime.logLevel, name: 'ghl-sandbox' })

const { app, control } = buildSandbox({
  clientId: config.sandbox.clientId,
  clientSecret: config.sandbox.clientSecret,
  appId: config.sandbox.appId,
  accessTokenTtlSeconds: config.sandbox.accessTokenTtlSeconds,
  autoApprove: config.sandbox.autoApprove,
  webhookPrivateKey: config.sandbox.webhookPrivateKey,
  redirectUris: config.sandbox.redirectUris,
  codeTtlSeconds: config.sandbox.codeTtlSeconds,
  logger,
})

let closing = false
async function shutdown (signal: string): Promise<void> {
  if (closing) return
  closing = true
  logger.info({ signal }, 'sandbox stopping')
  await app.close()
  process.exit(0)
}
process.once('SIGINT', () => void shutdown('SIGINT'))
process.once('SIGTERM', () => void shutdown('SIGTERM'))

try {
  const address = await app.listen({ port: config.sandbox.port, host: config.sandbox.host })
  logger.info({ address, locations: control.locations().map((l) => l.name), webhookPublicKey: control.webhookPublicKey().publicKey },
    'HighLevel sandbox listening')
} catch (err) {
  logger.fatal({ err }, 'sandbox could not start')
  process.exit(1)
}
