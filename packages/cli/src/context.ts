/**
 * What a command runs on, built only when it asks: the configuration (packages/config), the
 * database alone for the commands that only read, or the whole core (createCore: PostgreSQL,
 * Redis and the queues) for those that queue work. Closed once the command ends.
 */
import { loadCliConfig, type CliConfig } from '@ghl-connect/config'
import { createDatabase, type DatabaseHandle } from '@ghl-connect/db'
import { createLogger, type Logger } from '@ghl-connect/logging'
import { createCore, type Core } from '@ghl-connect/core'

export class CliContext {
  private loaded: CliConfig | undefined
  private db: DatabaseHandle | undefined
  private built: Core | undefined
  private log: Logger | undefined

  constructor (private readonly env: Record<string, string | undefined>, readonly now: () => number = Date.now) {}

  /** Throws ConfigError naming each bad variable (main prints it). */
  config (): CliConfig {
    this.loaded ??= loadCliConfig(this.env)
    return this.loaded
  }

  /** The logger writes to stderr, so stdout carries only what the command prints (and its --json). */
  logger (): Logger {
    this.log ??= createLogger({ level: this.config().runtime.logLevel === 'info' ? 'warn' : this.config().runtime.logLevel, name: 'cli', destination: process.stderr })
    return this.log
  }

  database (): DatabaseHandle {
    if (this.built) return this.built.database
    const { database } = this.config()
    this.db ??= createDatabase({ ...database, poolSize: 2 })
    return this.db
  }

  core (): Core {
    if (!this.built) {
      const config = this.config()
      // Fail fast when Redis is down rather than queueing commands forever (as the api does).
      this.built = createCore({ ...config, database: { ...config.database, poolSize: 2 } }, this.logger(),
        { service: 'cli', redis: { maxRetriesPerRequest: 1, connectTimeout: 3000 } })
    }
    return this.built
  }

  async close (): Promise<void> {
    await this.db?.close()
    await this.built?.close()
  }
}
