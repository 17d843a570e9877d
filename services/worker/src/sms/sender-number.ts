/**
 * HighLevel refusing the sender number of an SMS (fromNumber: not one of the sub-account's
 * numbers). Its specs name no code for it; its answer is a 400 whose message names fromNumber,
 * so that is what is recognised (any other 400 stays invalid_request with HighLevel's words).
 */
import type { OutboxFailure } from '@ghl-connect/db'
import type { GhlError } from '@ghl-connect/ghl'

export const FROM_NUMBER_INVALID: OutboxFailure = {
  code: 'from_number_invalid',
  message: 'GoHighLevel refused the sender number: it is not one of the connected sub-account\'s phone numbers. Send with fromNumber set to one of its numbers, or fix the client\'s defaultFromNumber with PUT /api/clients/:clientId/settings (null sends from the sub-account\'s own number).',
}

export function senderNumberRefused (err: GhlError): OutboxFailure | null {
  return err.messages.some((m) => /from\s*number/i.test(m)) ? FROM_NUMBER_INVALID : null
}
