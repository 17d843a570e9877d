import t from 'tap'
import { signEvent } from '@ghl-connect/crm-events'
import { startCrmReceiver } from '../src/crm-receiver.ts'

t.test('the CRM receiver accepts signed events, counts them by id and type, refuses unsigned ones, and is down until up', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const post = (id: string, sign = crm.env.CRM_WEBHOOK_SECRET) => {
    const body = JSON.stringify({ id, type: 'sms.sent', occurredAt: new Date().toISOString(), data: {} })
    return fetch(crm.url, { method: 'POST', headers: signEvent(sign, { id, type: 'sms.sent', body }), body }).then((r) => r.status)
  }
  t.equal(await post('sms.sent-1'), 204)
  t.equal(await post('sms.sent-1'), 204)
  t.equal(await post('sms.sent-2', 'another-secret-of-at-least-32-characters'), 401)
  t.same([crm.count('sms.sent-1'), crm.ofType('sms.sent').length, crm.rejected()], [2, 1, 1])
  t.ok(crm.received[0]!.verified && crm.received[0]!.standardWebhooks)

  await crm.down('error')
  t.equal(await post('sms.sent-3'), 503)
  t.equal(crm.refusedWhileDown(), 1)
  await crm.up()
  await crm.down('refuse')
  await t.rejects(post('sms.sent-3'), 'connections refused while down')
  await crm.up()
  t.equal(await post('sms.sent-3'), 204, 'the same url once up')
  t.same([...crm.acceptedById().keys()], ['sms.sent-1', 'sms.sent-3'])
})
