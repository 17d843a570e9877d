import t from 'tap'
import { createHmac } from 'node:crypto'
import { crmEventHeaders, signEvent, signingKey, verifyEvent } from '../src/index.ts'

t.test('the HMAC key: a whsec_ secret is its base64-decoded bytes, any other secret its UTF-8 bytes', async (t) => {
  const bytes = Buffer.alloc(32, 5)
  t.same(signingKey(`whsec_${bytes.toString('base64')}`), bytes)
  t.same(signingKey('plain-secret-ünicode-of-32-characters'), Buffer.from('plain-secret-ünicode-of-32-characters', 'utf8'))
  t.throws(() => signingKey('whsec_AAAA'), /at least 24 bytes/)
  t.throws(() => signingKey(`whsec_${bytes.toString('base64url')}_`), /standard base64/)
})

t.test('signEvent signs "<id>.<timestamp>.<body>" at the given time, and verifyEvent takes what it signed', async (t) => {
  const secret = 'a-plain-crm-webhook-secret-of-32-chars'
  const body = JSON.stringify({ id: 'sms.sent-1', type: 'sms.sent', occurredAt: '2026-12-06T21:00:00.000Z', data: { messageId: '1' } })
  const at = new Date('2026-12-06T21:00:00.900Z')
  const headers = signEvent(secret, { id: 'sms.sent-1', type: 'sms.sent', body }, at)
  const expected = createHmac('sha256', Buffer.from(secret)).update(`sms.sent-1.1796590800.${body}`).digest('base64')
  t.same(headers, {
    [crmEventHeaders.id]: 'sms.sent-1',
    [crmEventHeaders.timestamp]: '1796590800',
    [crmEventHeaders.signature]: `v1,${expected}`,
    [crmEventHeaders.type]: 'sms.sent',
    [crmEventHeaders.legacySignature]: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    [crmEventHeaders.legacyId]: 'sms.sent-1',
  })
  t.match(verifyEvent({ rawBody: body, headers, secret, now: at }), { ok: true, event: { id: 'sms.sent-1' } })
  const mislabelled = signEvent(secret, { id: 'sms.sent-2', type: 'sms.sent', body }, at)
  t.match(verifyEvent({ rawBody: body, headers: mislabelled, secret, now: at }), { ok: false, reason: 'not_an_event' }, 'a body whose id is not the signed webhook-id')
})
