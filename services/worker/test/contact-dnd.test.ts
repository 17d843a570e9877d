import t from 'tap'
import { createWorld, settled, SUNRISE } from './helper.ts'

const world = await createWorld(t, { SMS_RETRY_FOR_SECONDS: '3' }, { record: true })
const { sandbox } = world
await world.startInProcess()
await world.connect('sunrise', { locationId: SUNRISE })

const posted = (body: string) => sandbox.control.recorded.filter((e) => e.url === '/conversations/messages' && (e.body as { message?: string })?.message === body)
const OPTED_OUT = /opted out of SMS in HighLevel/

t.test('a contact HighLevel\'s ContactDndUpdate reported opted out fails as contact_dnd with 0 attempts, never POSTed; the latest report wins', async (t) => {
  const contact = sandbox.control.addContact({ locationId: SUNRISE, name: 'Webhook Optout', phone: '+15550109001' })
  const at = Date.now()
  await world.contactDnd.record({ locationId: SUNRISE, contactId: contact.id, smsDnd: true, changedAt: new Date(at) })
  const row = await settled(world, (await world.submit('sunrise', { contactId: contact.id }, 'To an opted-out contact')).id)
  t.match(row, { status: 'failed', attempts: 0, errorCode: 'contact_dnd', errorMessage: OPTED_OUT })
  t.same(posted('To an opted-out contact'), [], 'HighLevel was never asked to send it')

  t.notOk(await world.contactDnd.record({ locationId: SUNRISE, contactId: contact.id, smsDnd: false, changedAt: new Date(at - 60_000) }), 'an older report is ignored')
  const still = await settled(world, (await world.submit('sunrise', { contactId: contact.id }, 'Still opted out')).id)
  t.match(still, { status: 'failed', errorCode: 'contact_dnd', attempts: 0 })

  t.ok(await world.contactDnd.record({ locationId: SUNRISE, contactId: contact.id, smsDnd: false, changedAt: new Date(at + 1000) }), 'a newer one replaces it')
  const sent = await settled(world, (await world.submit('sunrise', { contactId: contact.id }, 'Opted in again')).id)
  t.match(sent, { status: 'sent', attempts: 1 })
})

t.test('a recipient whose HighLevel contact record has SMS DND (found by phone or by name) fails as contact_dnd with 0 attempts, never POSTed', async (t) => {
  const contact = sandbox.control.addContact({ locationId: SUNRISE, name: 'Record Optout', phone: '+15550109002' })
  await sandbox.control.setContactDnd(contact.id, { sms: 'active' })
  const byPhone = await settled(world, (await world.submit('sunrise', { phone: '+15550109002' }, 'By phone to DND')).id)
  t.match(byPhone, { status: 'failed', attempts: 0, errorCode: 'contact_dnd', errorMessage: OPTED_OUT })
  t.same(posted('By phone to DND'), [])

  await sandbox.control.setContactDnd(contact.id, { dnd: true, sms: 'inactive' })
  const byName = await settled(world, (await world.submit('sunrise', { name: 'Record Optout' }, 'By name to DND')).id)
  t.match(byName, { status: 'failed', attempts: 0, errorCode: 'contact_dnd' })
  t.same(posted('By name to DND'), [])
})

t.test('HighLevel refusing the send for DND (a contact id, no webhook seen) fails as contact_dnd with 0 attempts, sent once', async (t) => {
  const contact = sandbox.control.addContact({ locationId: SUNRISE, name: 'Refused Optout', phone: '+15550109003' })
  await sandbox.control.setContactDnd(contact.id, { sms: 'permanent' })
  const row = await settled(world, (await world.submit('sunrise', { contactId: contact.id }, 'Refused by HighLevel')).id)
  t.match(row, { status: 'failed', attempts: 0, errorCode: 'contact_dnd', errorMessage: OPTED_OUT })
  t.equal(posted('Refused by HighLevel').length, 1, 'one POST, refused, not retried')
  t.same(sandbox.control.messages().filter((m) => m.body === 'Refused by HighLevel'), [])
})
