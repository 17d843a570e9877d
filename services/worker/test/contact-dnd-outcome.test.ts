import t from 'tap'
import { GhlError } from '@ghl-connect/ghl'
import { CONTACT_DND } from '../src/sms/contact-dnd.ts'
import { decideAfterPost } from '../src/sms/send-outcome.ts'

const refusal = (status: number, message: string) => new GhlError(status === 422 || status === 400 ? 'invalid_request' : 'forbidden', message, { operation: 'sendSms', status, messages: [message] })

t.test('HighLevel refusing a send for DND is contact_dnd, failed without counting an attempt; other refusals are unchanged', async (t) => {
  for (const message of ['Cannot send SMS: the contact has DND (do not disturb) active for SMS', 'Contact is in DND', 'This contact has Do Not Disturb enabled']) {
    t.same(decideAfterPost(refusal(400, message), 0.5), { kind: 'fail', failure: CONTACT_DND, countAttempt: false }, message)
  }
  t.match(decideAfterPost(refusal(400, 'Contact not found'), 0.5), { kind: 'fail', failure: { code: 'invalid_request' }, countAttempt: true })
  t.match(decideAfterPost(refusal(422, 'handsome message'), 0.5), { kind: 'fail', failure: { code: 'invalid_request' } }, '"dnd" inside a word is not DND')
  t.match(decideAfterPost(refusal(403, 'The token does not have access to this location'), 0.5), { kind: 'fail', failure: { code: 'forbidden' } })
  t.match(CONTACT_DND.message, /opted out of SMS in HighLevel/)
})
