/**
 * How every process starts: its configuration sections (a bad variable stops it with a message
 * naming each one), the secrets in them registered for redaction before the first log line, and
 * the logger.
 */
import { loadOrExit } from '@ghl-connect/config'
import { createLogger, registerSecrets, type Logger } from '@ghl-connect/logging'

/** The configuration values that are secret, in whichever sections a process loaded. */
interface SecretBearing {
  ghl?: { clientSecret: string }
  http?: { connectLinkSecret: string, cookieSecret: string, admin: { password: string }, metrics: { token: string | null }, apiKeys: Array<{ key: string }> }
  crmEvents?: { secret: string } | null
  legacyPit?: { token: string } | null
  worker?: { metricsToken: string | null }
  sandbox?: { clientSecret: string, webhookPrivateKey?: string | undefined }
}

export function configSecrets (config: SecretBearing): Array<string | null | undefined> {
  return [
    config.ghl?.clientSecret,
    config.http?.connectLinkSecret,
    config.http?.cookieSecret,
    config.http?.admin.password,
    ...(config.http?.apiKeys ?? []).map((k) => k.key),
    config.crmEvents?.secret,
    config.legacyPit?.token,
    config.http?.metrics.token,
    config.worker?.metricsToken,
    config.sandbox?.clientSecret,
    config.sandbox?.webhookPrivateKey,
  ]
}

export interface Booted<C> { config: C, logger: Logger }

export function bootProcess<C extends SecretBearing & { runtime: { logLevel: string } }> (
  name: string, loader: (env: Record<string, string | undefined>) => C, base?: Record<string, unknown>,
): Booted<C> {
  const config = loadOrExit(loader)
  registerSecrets(...configSecrets(config))
  return { config, logger: createLogger({ level: config.runtime.logLevel, name, base }) }
}
