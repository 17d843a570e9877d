import { loadApiConfig } from '@ghl-connect/config'
import { bootProcess, closeOnSignals } from '@ghl-connect/lifecycle'
import { buildApp } from './app.ts'
import { createRuntime } from './runtime.ts'

const { config, logger } = bootProcess('api', loadApiConfig)
const app = await buildApp(createRuntime(config, logger))
closeOnSignals(logger, 10_000, async () => { await app.close() })
await app.listen({ port: config.http.port, host: config.http.host })
