/** The `gap-fill` job (one per GAP_FILL_EVERY_SECONDS per deployment): the export read for lost webhooks, then the pending statuses past the timeout. */
import type { DeliveryTimeout } from './delivery-timeout.ts'
import type { GapFiller } from './gap-filler.ts'

export class GapFillJob {
  constructor (private readonly filler: GapFiller, private readonly timeout: DeliveryTimeout) {}

  async run () {
    const filled = await this.filler.run()
    const timedOut = await this.timeout.run()
    return { ...filled, timedOut }
  }
}
