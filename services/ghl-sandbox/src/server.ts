/** Standalone sandbox: `pnpm --filter ghl-sandbox dev` (sources) or `start` (built), configured from the environment. */
import { loadSandboxConfig } from '@ghl-connect/config'
import { bootProcess, closeOnSignals } from '@ghl-connect/lifecycle'
import { buildSandbox } from './app.ts'

const { config, logger } = bootProcess('ghl-sandbox', loadSandboxConfig)

const { app, control } = buildSandbox({
  clientId: config.sandbox.clientId,
  clientSecret: config.sandbox.clientSecret,
  appId: config.sandbox.appId,
  accessTokenTtlSeconds: config.sandbox.accessTokenTtlSeconds,
  autoApprove: config.sandbox.autoApprove,
  webhookPrivateKey: config.sandbox.webhookPrivateKey,
  redirectUris: config.sandbox.redirectUris,
  codeTtlSeconds: config.sandbox.codeTtlSeconds,
  stateFile: config.sandbox.stateFile,
  messageWebhooks: config.sandbox.messageWebhooks,
  logger,
})
closeOnSignals(logger, 10_000, async () => { await app.close() })

try {
  const address = await app.listen({ port: config.sandbox.port, host: config.sandbox.host })
  logger.info({ address, locations: control.locations().map((l) => l.name), webhookPublicKey: control.webhookPublicKey().publicKey },
    'HighLevel sandbox listening')
} catch (err) {
  logger.fatal({ err }, 'sandbox could not start')
  process.exit(1)
}
