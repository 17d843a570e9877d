/** Delivery status end to end: the sandbox reports 90 delivered and 10 failed of 100 SMS the worker sent. */
import t from 'tap'
import { eventually } from '@ghl-connect/testing'
import { CLIENT, JANE, twoWay } from './two-way.ts'

t.test('100 SMS, the sandbox reporting 90 delivered and 10 failed: GET /api/sms/:id and sms.delivery agree with the sandbox for all 100', async (t) => {
  const { app, auth, control, crm, startWorker } = await twoWay(t)
  control.configureMessageWebhooks({ auto: true, delayMs: 0, failureRatio: 0.1 })
  const ids: string[] = []
  for (let i = 0; i < 100; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: CLIENT, to: { contactId: JANE }, message: `Reminder ${i}` } })
    t.equal(res.statusCode, 202)
    ids.push(res.json().id)
  }
  const worker = startWorker()
  await eventually('100 delivery reports sent and 100 sms.delivery events received', () =>
    control.messageWebhookLog().length === 100 && crm.ofType('sms.delivery').length === 100, 120_000)
  // Under heavy load a report's answer can come after the sandbox stopped waiting: not a refusal.
  const refused = control.messageWebhookLog().filter((w) => { const s = (w.delivery as { status?: number }).status; return s !== undefined && s >= 400 && s !== 429 })
  t.same(refused, [], 'the api refused no report')

  const reported = new Map(control.messages().map((m) => [m.messageId, m.status]))
  t.same([...reported.values()].filter((s) => s === 'failed').length, 10, 'the sandbox failed 10')
  const events = new Map(crm.ofType('sms.delivery').map((e) => [e.data.messageId, e]))
  const counts: Record<string, number> = {}
  for (const id of ids) {
    const view = (await app.inject({ url: `/api/sms/${id}`, headers: auth })).json()
    const expected = reported.get(view.ghlMessageId)
    counts[view.deliveryStatus] = (counts[view.deliveryStatus] ?? 0) + 1
    if (view.status !== 'sent' || view.deliveryStatus !== expected || !view.deliveryUpdatedAt) t.fail(`${id}: ${view.status}/${view.deliveryStatus}, the sandbox says ${expected}`)
    const event = events.get(id)
    if (event?.id !== `sms.delivery-${id}-${expected}` || event.data.status !== expected || event.data.ghlMessageId !== view.ghlMessageId) {
      t.fail(`${id}: sms.delivery ${JSON.stringify(event)} does not say ${expected}`)
    }
  }
  t.same(counts, { delivered: 90, failed: 10 }, 'GET /api/sms/:id: 90 delivered, 10 failed, each as the sandbox reported it')
  t.equal(events.size, 100, 'one sms.delivery per message')
  t.equal(await worker.stop(), 0)
})

