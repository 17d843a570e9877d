/** A DND contact as HighLevel's contact lookups show it, and HighLevel's refusal to send it an SMS, against the specs. */
import t from 'tap'
import { smsDoNotDisturb } from '../src/index.ts'
import { ContractChecker } from './contract.ts'
import { failure, harness, JANE, SUNRISE } from './helper.ts'

const checker = new ContractChecker()

t.test('contract: a DND contact\'s dnd and dndSettings in the lookups, and the refused send, conform to HighLevel\'s specs', async (t) => {
  const { client, sandbox, connect } = await harness(t, { record: true })
  const { access_token: accessToken } = await connect(SUNRISE)
  await sandbox.control.setContactDnd(JANE, { sms: 'active' })

  const found = await client.contacts.findByPhone({ accessToken, locationId: SUNRISE, phone: '+15550100001' })
  t.match(found.data, { id: JANE, dnd: false, dndSettings: { SMS: { status: 'active' } } })
  t.equal(smsDoNotDisturb(found.data ?? {}), true)
  const upserted = await client.contacts.upsert({ accessToken, locationId: SUNRISE, phone: '+15550100001' })
  t.equal(smsDoNotDisturb(upserted.data.contact), true)
  const refused = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hello' }))
  t.match(refused, { kind: 'invalid_request', status: 400 })

  for (const exchange of sandbox.control.recorded.filter((e) => !e.url.startsWith('/oauth'))) {
    t.same(checker.check(exchange), [], `${exchange.method} ${exchange.url.split('?')[0]} -> ${exchange.response.status}`)
  }
})

t.test('SMS do-not-disturb as HighLevel describes it: overall, or the SMS channel active or permanent', async (t) => {
  t.equal(smsDoNotDisturb({ dnd: true, dndSettings: { SMS: { status: 'inactive' } } }), true, 'dnd overall wins (HighLevel\'s own example has both)')
  t.equal(smsDoNotDisturb({ dnd: false, dndSettings: { SMS: { status: 'permanent' } } }), true)
  t.equal(smsDoNotDisturb({ dnd: false, dndSettings: { SMS: { status: 'inactive' }, Email: { status: 'active' } } }), false, 'another channel\'s DND does not stop SMS')
  t.equal(smsDoNotDisturb({ dnd: false }), false)
  t.equal(smsDoNotDisturb({}), undefined, 'nothing said')
})
