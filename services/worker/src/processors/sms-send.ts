import { DelayedError } from 'bullmq'
import type { JobOf } from '@ghl-connect/queues'
import type { SmsSender } from '../sms/sms-sender.ts'

/**
 * `sms` / `send`: the sender decides; "later" moves the job to the delayed set without failing
 * it, so waiting for a rate limit or a retry spends no BullMQ attempt.
 */
export function smsSendProcessor (sender: SmsSender) {
  return async (job: JobOf<'sms'>, token?: string) => {
    const decision = await sender.send(job.data.messageId, { jobId: job.id, requestId: job.data.requestId })
    if (decision.kind === 'done') return decision.outcome
    await job.moveToDelayed(Date.now() + decision.delayMs, token)
    throw new DelayedError(decision.reason)
  }
}
