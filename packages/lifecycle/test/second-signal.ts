/** A process whose close never ends by itself: what a second signal during shutdown meets. */
import { createLogger } from '@ghl-connect/logging'
import { closeOnSignals } from '../src/shutdown.ts'

const logger = createLogger({ name: 'second-signal', destination: process.stdout })
closeOnSignals(logger, 60_000, () => new Promise<boolean>(() => { logger.info('closing') }))
setInterval(() => {}, 1000)
logger.info('ready')
