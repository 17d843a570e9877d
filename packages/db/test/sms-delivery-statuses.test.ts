import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createTestDatabase } from '../src/testing.ts'
import { CrmEventsRepository, deliveryStatusOf, SmsDeliveryStatusesRepository, SmsMessagesRepository, supersedes } from '../src/index.ts'

const db = await createTestDatabase()
t.teardown(db.drop)
const events = new CrmEventsRepository(db.db)
const messages = new SmsMessagesRepository(db.db, events)
const deliveries = new SmsDeliveryStatusesRepository(db.db, events)
const report = (ghlMessageId: string, status: 'delivered' | 'failed' | 'sent' | 'read', reportedAt = new Date()) =>
  deliveries.report({ ghlMessageId, status, errorCode: null, errorMessage: null, reportedAt })

/** An outbox row being sent (as the worker leaves it right before HighLevel answers). */
async function sending () {
  const { message } = await messages.insertOnce({ clientId: 'c', integrationId: null, idempotencyKey: randomUUID(), to: { contactId: 'contact' }, body: 'Hi' })
  const attemptId = randomUUID()
  await messages.markSending(message.id, { attemptId, contactId: 'contact', startedAt: new Date() })
  return { id: message.id, attemptId }
}

t.test('a status never moves back; between final statuses the later report wins', async (t) => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s))
  t.ok(supersedes({ status: 'pending', reportedAt: at(0) }, { status: null, at: null }))
  t.ok(supersedes({ status: 'delivered', reportedAt: at(1) }, { status: 'sent', at: at(2) }), 'further along wins, whenever it was reported')
  t.notOk(supersedes({ status: 'sent', reportedAt: at(3) }, { status: 'delivered', at: at(1) }), 'a late sent does not undo delivered')
  t.ok(supersedes({ status: 'failed', reportedAt: at(3) }, { status: 'delivered', at: at(1) }), 'a later failed replaces delivered')
  t.notOk(supersedes({ status: 'failed', reportedAt: at(0) }, { status: 'delivered', at: at(1) }), 'an older failed does not')
  t.notOk(supersedes({ status: 'delivered', reportedAt: at(5) }, { status: 'delivered', at: at(1) }), 'a repeat changes nothing')
  t.ok(supersedes({ status: 'read', reportedAt: at(0) }, { status: 'delivered', at: at(1) }))
  t.ok(supersedes({ status: 'unknown', reportedAt: at(5) }, { status: 'pending', at: at(1) }), 'unknown (ours, past the timeout) replaces pending')
  for (const later of ['sent', 'delivered', 'undelivered', 'failed', 'read'] as const) {
    t.ok(supersedes({ status: later, reportedAt: at(0) }, { status: 'unknown', at: at(5) }), `HighLevel's ${later}, however late, replaces unknown`)
  }
  t.notOk(supersedes({ status: 'unknown', reportedAt: at(9) }, { status: 'sent', at: at(1) }), 'unknown never undoes what HighLevel said')
  t.equal(deliveryStatusOf('unknown'), null, 'a webhook cannot claim unknown: only the timeout sets it')
  t.equal(deliveryStatusOf('delivered'), 'delivered')
  t.equal(deliveryStatusOf('constructor'), null, 'an inherited property name is no status')
})

t.test('reports racing the sent write: every one lands on its row, once, with its event', async (t) => {
  const rows = await Promise.all(Array.from({ length: 40 }, () => sending()))
  await Promise.all(rows.flatMap(({ id, attemptId }, i) => [
    report(`ghl-${i}`, 'delivered'),
    messages.markSent(id, attemptId, { messageId: `ghl-${i}`, conversationId: 'conv', status: 'pending' }),
  ]))
  for (const [i, { id }] of rows.entries()) {
    const row = await messages.findById(id)
    if (row?.status !== 'sent' || row.deliveryStatus !== 'delivered') t.fail(`row ${i}: ${row?.status}/${row?.deliveryStatus}`)
    if (!await events.findById(`sms.delivery-${id}-delivered`)) t.fail(`row ${i}: no sms.delivery`)
  }
  t.same(await db.sql`select ghl_message_id from early_delivery_statuses`, [], 'nothing left waiting')
  t.pass('40 of 40')
})

t.test('without an events outbox (markSent is one statement, no lock): reports racing the sent write are never lost', async (t) => {
  const plain = new SmsMessagesRepository(db.db)
  const plainDeliveries = new SmsDeliveryStatusesRepository(db.db)
  const rows = await Promise.all(Array.from({ length: 60 }, () => sending()))
  // Each pair started together, in both orders, so either side can be the one that commits first.
  await Promise.all(rows.flatMap(({ id, attemptId }, i) => {
    const reported = () => plainDeliveries.report({ ghlMessageId: `plain-${i}`, status: 'delivered', errorCode: null, errorMessage: null, reportedAt: new Date() })
    const sent = () => plain.markSent(id, attemptId, { messageId: `plain-${i}`, conversationId: 'conv', status: 'pending' })
    return i % 2 === 0 ? [reported(), sent()] : [sent(), reported()]
  }))
  const lost = []
  for (const [i, { id }] of rows.entries()) {
    const row = await messages.findById(id)
    if (row?.status !== 'sent' || row.deliveryStatus !== 'delivered') lost.push(`row ${i}: ${row?.status}/${row?.deliveryStatus}`)
  }
  t.same(lost, [], 'every report landed on its row')
  t.same(await db.sql`select ghl_message_id from early_delivery_statuses where ghl_message_id like 'plain-%'`, [], 'nothing left waiting')
  t.equal((await plain.markSent(rows[0]!.id, rows[0]!.attemptId, { messageId: 'plain-0', conversationId: 'conv' })), null, 'a second sent write for the attempt changes nothing')
})

t.test('a kept report is replaced only by one that supersedes it; a report for a sent row is applied once', async (t) => {
  const { id, attemptId } = await sending()
  t.same(await report('ghl-x', 'delivered'), { kind: 'kept' })
  t.same(await report('ghl-x', 'sent'), { kind: 'kept' })
  const row = await messages.markSent(id, attemptId, { messageId: 'ghl-x', conversationId: 'conv', status: 'pending' })
  t.equal(row?.deliveryStatus, 'delivered', 'the kept delivered, not the late sent')
  t.same(await report('ghl-x', 'delivered'), { kind: 'unchanged' }, 'HighLevel repeating itself')
  t.match(await report('ghl-x', 'read'), { kind: 'applied', message: { deliveryStatus: 'read' }, eventId: `sms.delivery-${id}-read` })
})

t.test('one grouped sent write: a report that came first is applied, a row moved on is left as it is, the rest sent, in one statement', async (t) => {
  for (const [name, repo] of [['with events', messages], ['without events', new SmsMessagesRepository(db.db)]] as const) {
    const early = await sending()
    const movedOn = await sending()
    const plain = await sending()
    // HighLevel's report for the first beat our write; the second was settled meanwhile by another attempt.
    t.same(await report(`group-early-${name}`, 'delivered'), { kind: 'kept' })
    const newer = randomUUID()
    await db.sql`update sms_messages set attempt_id = ${newer} where id = ${movedOn.id}`
    const answer = await repo.markSentMany([
      { id: early.id, attemptId: early.attemptId, ids: { messageId: `group-early-${name}`, conversationId: 'conv', status: 'pending' } },
      { id: movedOn.id, attemptId: movedOn.attemptId, ids: { messageId: `group-moved-${name}`, conversationId: 'conv' } },
      { id: plain.id, attemptId: plain.attemptId, ids: { messageId: `group-plain-${name}`, conversationId: 'conv', status: 'pending' } },
    ])
    t.equal(answer.length, 3, `${name}: one answer per write`)
    t.match(answer[0], { id: early.id, status: 'sent', deliveryStatus: 'delivered' }, `${name}: the early report is applied to its row, and answered`)
    t.equal(answer[1], null, `${name}: the row moved on is not written`)
    t.match(answer[2], { id: plain.id, status: 'sent', deliveryStatus: 'pending', ghlMessageId: `group-plain-${name}` }, `${name}: the other is sent`)
    t.match(await messages.findById(movedOn.id), { status: 'sending', attemptId: newer, ghlMessageId: null, attempts: 0 }, `${name}: the newer attempt's row is untouched`)
    t.same(await db.sql`select ghl_message_id from early_delivery_statuses where ghl_message_id = ${`group-early-${name}`}`, [], `${name}: nothing left waiting`)
    if (repo === messages) {
      t.ok(await events.findById(`sms.sent-${early.id}`) && await events.findById(`sms.sent-${plain.id}`), 'each written row has its sms.sent')
      t.notOk(await events.findById(`sms.sent-${movedOn.id}`), 'the row not written has none')
      t.ok(await events.findById(`sms.delivery-${early.id}-delivered`), 'the early report has its sms.delivery')
    }
  }
})
