/**
 * Email end to end: POST /api/email through the same outbox as SMS, a real worker process, the
 * sandbox as HighLevel (it sends OutboundMessage for the email, signed), and a CRM receiving
 * signed events. Then the intake's own checks, answered 400 naming the field.
 */
import t from 'tap'
import { eventually } from '@ghl-connect/testing'
import { CLIENT, JANE, SUNRISE, twoWay } from './two-way.ts'

t.test('an email by contact id, by address and by name reaches HighLevel once each; a repeated key is one id; its delivery updates GET /api/email/:id and sends email.delivery', async (t) => {
  const { app, auth, control, crm, startWorker, delivered } = await twoWay(t)
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/email', headers: auth, payload })
  const noMail = control.addContact({ locationId: SUNRISE, name: 'Nat Nomail', phone: '+15550100077' })
  const byId = await post({ clientId: CLIENT, to: { contactId: JANE }, subject: 'By id', html: '<p>Monday at <b>9</b></p>', text: 'Monday at 9', idempotencyKey: 'mail-1' })
  const again = await post({ clientId: CLIENT, to: { contactId: JANE }, subject: 'By id', html: '<p>Monday at <b>9</b></p>', text: 'Monday at 9', idempotencyKey: 'mail-1' })
  const byAddress = await post({ clientId: CLIENT, to: { email: 'jane@example.com' }, subject: 'By address', text: 'Plain words', fromEmail: 'desk@sunrise.example', fromName: 'Front Desk', idempotencyKey: 'mail-2' })
  const byName = await post({ clientId: CLIENT, to: { name: 'Jane Doe' }, subject: 'By name', text: 'Hi Jane', idempotencyKey: 'mail-3' })
  const newLead = await post({ clientId: CLIENT, to: { email: 'lead.one@example.com' }, createContact: true, contactName: 'Lena Lead', subject: 'Welcome', text: 'Glad you asked', idempotencyKey: 'mail-4' })
  const noAddress = await post({ clientId: CLIENT, to: { contactId: noMail.id }, subject: 'Nowhere', text: 'Never sent', idempotencyKey: 'mail-5' })
  for (const res of [byId, again, byAddress, byName, newLead, noAddress]) t.equal(res.statusCode, 202, res.body)
  t.equal(again.json().id, byId.json().id, 'the same key answers the first email')
  t.match(again.json(), { status: 'queued' })
  const sms = await app.inject({ url: `/api/sms/${byId.json().id}`, headers: auth })
  t.equal(sms.statusCode, 404, 'an email is not an SMS')

  const worker = startWorker()
  const view = (id: string) => app.inject({ url: `/api/email/${id}`, headers: auth }).then((r) => r.json())
  const done = await eventually('five emails settled', async () => {
    const views = await Promise.all([byId, byAddress, byName, newLead, noAddress].map((r) => view(r.json().id)))
    return views.every((v) => v.status === 'sent' || v.status === 'failed') ? views : undefined
  }, 90_000)
  t.same(done.map((v) => v.status), ['sent', 'sent', 'sent', 'sent', 'failed'])
  t.match(done[4], { attempts: 0, error: { code: 'contact_has_no_email' } })
  const emails = control.messages().filter((m) => m.type === 'Email')
  const withSubject = (s: string) => emails.filter((m) => m.email?.subject === s)
  t.match(withSubject('By id'), [{ contactId: JANE, body: '<p>Monday at <b>9</b></p>', email: { html: '<p>Monday at <b>9</b></p>', text: 'Monday at 9' } }])
  t.match(withSubject('By address'), [{ contactId: JANE, body: 'Plain words', email: { from: 'Front Desk <desk@sunrise.example>', to: 'jane@example.com' } }])
  t.match(withSubject('By name'), [{ contactId: JANE, body: 'Hi Jane' }])
  const lead = control.contacts(SUNRISE).find((c) => c.email === 'lead.one@example.com')
  t.match(lead, { name: 'Lena Lead' }, 'createContact created the contact')
  t.match(withSubject('Welcome'), [{ contactId: lead?.id }])
  t.equal(withSubject('Nowhere').length, 0)
  t.equal(emails.length, 4, 'each reached HighLevel once')
  t.equal(done[0].ghlMessageId, withSubject('By id')[0]?.messageId)

  await delivered(`email.sent-${byId.json().id}`)
  await delivered(`email.failed-${noAddress.json().id}`)
  t.match(crm.ofType('email.failed')[0]?.data, { messageId: noAddress.json().id, code: 'contact_has_no_email', attempts: 0 })

  const report = await control.reportDelivery(done[0].ghlMessageId, 'opened')
  t.equal((report as { status: number }).status, 200)
  await delivered(`email.delivery-${byId.json().id}-opened`)
  t.match(await view(byId.json().id), { deliveryStatus: 'opened' })
  t.match(crm.ofType('email.delivery')[0]?.data, { messageId: byId.json().id, status: 'opened', ghlMessageId: done[0].ghlMessageId })
  await control.reportDelivery(done[1].ghlMessageId, 'bounced', { error: { code: '550', type: 'bounce', message: 'mailbox unavailable' } })
  await delivered(`email.delivery-${byAddress.json().id}-bounced`)
  t.match(await view(byAddress.json().id), { deliveryStatus: 'bounced', deliveryError: { code: '550', message: 'mailbox unavailable' } })
  t.equal(crm.ofType('sms.sent').length + crm.ofType('sms.delivery').length, 0, 'no SMS events for email')
  t.equal(await worker.stop(), 0)
})

t.test('the intake refuses a bad email with 400 naming the field, and a scheduled one is cancelled', async (t) => {
  const { app, auth } = await twoWay(t)
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/email', headers: auth, payload })
  const base = { clientId: CLIENT, to: { contactId: JANE }, subject: 'Hello', text: 'Body' }
  const cases: Array<[object, RegExp]> = [
    [{ ...base, subject: undefined }, /subject/],
    [{ ...base, text: undefined }, /html or text/],
    [{ ...base, subject: 'x'.repeat(999) }, /subject/],
    [{ ...base, text: 'é'.repeat(140_000) }, /text is larger than 256 KiB/],
    [{ ...base, to: { contactId: JANE, email: 'jane@example.com' } }, /exactly one of contactId, email or name/],
    [{ ...base, to: { email: 'not-an-address' } }, /to\.email is not an email address/],
    [{ ...base, to: { phone: '+15550100001' } }, /phone/],
    [{ ...base, cc: ['ok@example.com', 'bad'] }, /cc\[1\]/],
    [{ ...base, attachments: ['http://files.example/a.pdf'] }, /attachments\[0\] must be an https URL/],
    [{ ...base, createContact: true }, /createContact/],
    [{ ...base, fromName: 'Desk' }, /fromName goes with fromEmail/],
  ]
  for (const [payload, message] of cases) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)}: ${res.body.slice(0, 200)}`)
    t.match(res.json().message, message)
  }
  const later = await post({ ...base, sendAt: new Date(Date.now() + 3_600_000).toISOString() })
  t.equal(later.statusCode, 202)
  const cancelled = await app.inject({ method: 'DELETE', url: `/api/email/${later.json().id}`, headers: auth })
  t.equal(cancelled.statusCode, 200)
  t.match(cancelled.json(), { status: 'cancelled' })
  const asSms = await app.inject({ method: 'DELETE', url: `/api/sms/${later.json().id}`, headers: auth })
  t.equal(asSms.statusCode, 404, 'an email is not cancelled through /api/sms')
  const unknown = await app.inject({ url: '/api/email/00000000-0000-4000-8000-000000000000', headers: auth })
  t.match(unknown.json(), { error: 'email_not_found' })
})

t.test('a batch of emails: 207, each answered on its own, posted again it creates nothing', async (t) => {
  const { app, auth } = await twoWay(t)
  const messages = [
    { clientId: CLIENT, to: { contactId: JANE }, subject: 'One', text: 'First', idempotencyKey: 'b-1' },
    { clientId: CLIENT, to: { email: 'jane@example.com' }, subject: 'Two', html: '<p>Second</p>', idempotencyKey: 'b-2' },
    { clientId: CLIENT, to: { contactId: JANE }, text: 'No subject', idempotencyKey: 'b-3' },
    { clientId: CLIENT, to: { contactId: JANE }, subject: 'Four', text: 'No key' },
  ]
  const res = await app.inject({ method: 'POST', url: '/api/email/batch', headers: auth, payload: { messages } })
  t.equal(res.statusCode, 207, res.body)
  const body = res.json()
  t.match(body, { accepted: 2, failed: 2 })
  t.match(body.results[2], { error: { code: 'invalid_request', field: 'subject' } })
  t.match(body.results[3], { error: { field: 'idempotencyKey' } })
  const row = await app.runtime.smsMessages.findById(body.results[1].id)
  t.match(row, { channel: 'email', email: 'jane@example.com', subject: 'Two', body: '<p>Second</p>', bodyIsHtml: true })
  const again = (await app.inject({ method: 'POST', url: '/api/email/batch', headers: auth, payload: { messages } })).json()
  t.same(again.results.slice(0, 2).map((r: { id: string }) => r.id), body.results.slice(0, 2).map((r: { id: string }) => r.id))
})
