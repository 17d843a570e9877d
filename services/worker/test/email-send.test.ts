/**
 * The outbox's email channel through the same send state machine as SMS: who an email goes to
 * (contact id, address, name; a new address created when asked), the checks made before any POST
 * (no address, email do-not-disturb: failed with 0 attempts), and a lost answer settled by asking
 * HighLevel's export for channel Email, never sent twice.
 */
import t from 'tap'
import { ClientSettingsRepository } from '@ghl-connect/db'
import { createWorld, eventually, HARBOR, JANE, settled, SUNRISE } from './helper.ts'

const world = await createWorld(t, { SMS_RETRY_FOR_SECONDS: '3', SMS_VERIFY_SETTLE_SECONDS: '1' }, { record: true })
const { sandbox } = world
await world.startInProcess()
await world.connect('sunrise', { locationId: SUNRISE })
await world.connect('harbor', { locationId: HARBOR })

const emails = () => sandbox.control.messages().filter((m) => m.type === 'Email')
const emailsWith = (subject: string) => emails().filter((m) => m.email?.subject === subject)
t.beforeEach(() => sandbox.control.clearFaults())

t.test('an email to a contact id reaches HighLevel once with its subject and body, recorded with HighLevel ids', async (t) => {
  const row = await settled(world, (await world.submitEmail('sunrise', { contactId: JANE }, { subject: 'By id', body: 'Your visit is on Monday.' })).id)
  const sent = emailsWith('By id')
  t.equal(sent.length, 1, 'sent once')
  t.match(row, { status: 'sent', attempts: 1, errorCode: null, channel: 'email', ghlMessageId: sent[0]?.messageId, ghlConversationId: sent[0]?.conversationId })
  t.match(sent[0], { contactId: JANE, body: 'Your visit is on Monday.', email: { subject: 'By id', html: null, text: 'Your visit is on Monday.', to: 'jane@example.com' } })
  t.equal(sandbox.control.messages().filter((m) => m.type === 'SMS' && m.body === 'Your visit is on Monday.').length, 0, 'no SMS')
})

t.test('an email by address (any case, over every search page) and by exact name; HTML, sender, copies and attachments go as given', async (t) => {
  const byAddress = await settled(world, (await world.submitEmail('sunrise', { email: 'JANE@Example.com' }, {
    subject: 'By address', body: '<p>Hello <b>Jane</b></p>', bodyIsHtml: true,
    options: { text: 'Hello Jane', fromEmail: 'desk@sunrise.example', fromName: 'Front Desk', cc: ['cc@example.com'], bcc: ['bcc@example.com'], attachments: ['https://files.example/a.pdf'] },
  })).id)
  t.equal(byAddress.status, 'sent')
  t.match(emailsWith('By address')[0], {
    contactId: JANE, body: '<p>Hello <b>Jane</b></p>',
    email: { html: '<p>Hello <b>Jane</b></p>', text: 'Hello Jane', from: 'Front Desk <desk@sunrise.example>', to: 'JANE@Example.com', cc: ['cc@example.com'], bcc: ['bcc@example.com'], attachments: ['https://files.example/a.pdf'] },
  })
  const byName = await settled(world, (await world.submitEmail('sunrise', { name: 'jane doe' }, { subject: 'By name' })).id)
  t.equal(byName.status, 'sent')
  t.equal(emailsWith('By name')[0]?.contactId, JANE)
  t.equal(emailsWith('By name').length, 1)

  const crowd = 'sbxLocationMail00001'
  sandbox.control.addLocation({ id: crowd, name: 'Mail Clinic' })
  for (let i = 1; i <= 150; i++) sandbox.control.addContact({ locationId: crowd, name: `Lee ${i}`, email: `lee.${i}@clinic.example` })
  const lee = sandbox.control.addContact({ locationId: crowd, name: 'Lee', email: 'lee@clinic.example' })
  await world.connect('mailclinic', { locationId: crowd })
  const row = await settled(world, (await world.submitEmail('mailclinic', { email: 'lee@clinic.example' }, { subject: 'Page two' })).id)
  t.equal(row.status, 'sent')
  t.equal(emailsWith('Page two')[0]?.contactId, lee.id, 'the exact address, found past the first page of partial matches')
})

t.test('an address no contact has: contact_not_found; with createContact the contact is created (named as given) and the email sent', async (t) => {
  const none = await settled(world, (await world.submitEmail('sunrise', { email: 'new.lead@example.com' }, { subject: 'Nobody' })).id)
  t.match(none, { status: 'failed', errorCode: 'contact_not_found', attempts: 0, errorMessage: /createContact/ })
  t.equal(emailsWith('Nobody').length, 0)
  const before = sandbox.control.contacts(SUNRISE).length
  const created = await settled(world, (await world.submitEmail('sunrise', { email: 'New.Lead@example.com' }, { subject: 'Welcome', options: { createContact: true, contactName: 'Nora Lead' } })).id)
  t.equal(created.status, 'sent')
  t.equal(sandbox.control.contacts(SUNRISE).length, before + 1, 'one contact created')
  const contact = sandbox.control.contacts(SUNRISE).find((c) => c.email === 'new.lead@example.com')
  t.match(contact, { name: 'Nora Lead' })
  t.equal(emailsWith('Welcome')[0]?.contactId, contact?.id)
})

t.test('a contact without an address: contact_has_no_email with 0 attempts, nothing POSTed', async (t) => {
  const noMail = sandbox.control.addContact({ locationId: HARBOR, name: 'Pat Nomail', phone: '+15550200090' })
  const mark = sandbox.control.recorded.length
  const row = await settled(world, (await world.submitEmail('harbor', { contactId: noMail.id }, { subject: 'No address' })).id)
  t.match(row, { status: 'failed', errorCode: 'contact_has_no_email', attempts: 0 })
  t.equal(sandbox.control.recorded.slice(mark).filter((e) => e.method === 'POST' && e.url === '/conversations/messages').length, 0)
  const byName = await settled(world, (await world.submitEmail('harbor', { name: 'Pat Nomail' }, { subject: 'No address' })).id)
  t.match(byName, { status: 'failed', errorCode: 'contact_has_no_email', attempts: 0 })
})

t.test('email do-not-disturb (on the contact, or from a ContactDndUpdate) fails as contact_dnd with 0 attempts; SMS DND does not stop an email', async (t) => {
  const ann = sandbox.control.addContact({ locationId: HARBOR, name: 'Ann Optout', email: 'ann@example.com', phone: '+15550200091' })
  await sandbox.control.setContactDnd(ann.id, { email: 'active' })
  const row = await settled(world, (await world.submitEmail('harbor', { email: 'ann@example.com' }, { subject: 'Opted out' })).id)
  t.match(row, { status: 'failed', errorCode: 'contact_dnd', attempts: 0, errorMessage: /opted out of email/ })

  const bo = sandbox.control.addContact({ locationId: HARBOR, name: 'Bo Webhook', email: 'bo@example.com' })
  await world.contactDnd.record({ locationId: HARBOR, contactId: bo.id, smsDnd: false, emailDnd: true, changedAt: new Date() })
  const byId = await settled(world, (await world.submitEmail('harbor', { contactId: bo.id }, { subject: 'Webhook said no' })).id)
  t.match(byId, { status: 'failed', errorCode: 'contact_dnd', attempts: 0 })

  const cy = sandbox.control.addContact({ locationId: HARBOR, name: 'Cy Smsonly', email: 'cy@example.com' })
  await sandbox.control.setContactDnd(cy.id, { sms: 'active' })
  const fine = await settled(world, (await world.submitEmail('harbor', { contactId: cy.id }, { subject: 'Email is fine' })).id)
  t.equal(fine.status, 'sent')
  t.equal(emailsWith('Webhook said no').length + emailsWith('Opted out').length, 0)
})

t.test('HighLevel takes the email, then the connection is reset: asked by channel Email, found, recorded once', async (t) => {
  sandbox.control.setFaults({ acceptThenResetNext: 1 }, SUNRISE)
  const mark = sandbox.control.recorded.length
  const row = await settled(world, (await world.submitEmail('sunrise', { contactId: JANE }, { subject: 'Taken, then reset', body: 'Lost answer' })).id)
  const sent = emailsWith('Taken, then reset')
  t.equal(sent.length, 1, 'sent once')
  t.match(row, { status: 'sent', attempts: 1, ghlMessageId: sent[0]?.messageId })
  const asked = sandbox.control.recorded.slice(mark).filter((e) => e.url.startsWith('/conversations/messages/export'))
  t.ok(asked.length >= 1, 'HighLevel was asked')
  t.match(asked[0]?.url, /channel=Email/)
})

t.test('a reset before HighLevel took the email: not found, then sent exactly once', async (t) => {
  sandbox.control.setFaults({ resetNext: 1 }, SUNRISE)
  const row = await settled(world, (await world.submitEmail('sunrise', { contactId: JANE }, { subject: 'Reset, never taken', body: 'Never taken first' })).id)
  t.equal(emailsWith('Reset, never taken').length, 1, 'sent exactly once')
  t.match(row, { status: 'sent', attempts: 2 })
})

t.test('quiet hours are SMS-only: inside them an email goes at once while an SMS of the same client waits', async (t) => {
  const now = new Date()
  const hhmm = (d: Date) => d.toISOString().slice(11, 16)
  await new ClientSettingsRepository(world.db.db).put('harbor', {
    quietHours: { start: hhmm(new Date(now.getTime() - 3600_000)), end: hhmm(new Date(now.getTime() + 2 * 3600_000)), timeZone: 'UTC' }, defaultFromNumber: null,
  })
  t.teardown(() => new ClientSettingsRepository(world.db.db).put('harbor', { quietHours: null, defaultFromNumber: null }))
  const maria = 'sbxContact0000000003'
  sandbox.control.addContact({ locationId: HARBOR, name: 'Quinn Quiet', email: 'quinn@example.com' })
  const sms = await world.submit('harbor', { contactId: maria }, 'Held by quiet hours')
  const email = await settled(world, (await world.submitEmail('harbor', { email: 'quinn@example.com' }, { subject: 'Not held' })).id)
  t.equal(email.status, 'sent', 'the email went')
  const held = await eventually('the SMS held', async () => { const row = await world.messages.findById(sms.id); return row?.sendAt ? row : undefined })
  t.match(held, { status: 'queued', attempts: 0 })
  t.equal(sandbox.control.messages().filter((m) => m.body === 'Held by quiet hours').length, 0)
})
