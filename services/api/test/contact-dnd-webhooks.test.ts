import t from 'tap'
import { randomUUID } from 'node:crypto'
import { buildTestApiWithSandbox } from './helper.ts'

const SUNRISE = 'sbxLocation000000001'
const HARBOR = 'sbxLocation000000002'
const JANE = 'sbxContact0000000001'
const MARIA = 'sbxContact0000000003'

// HighLevel's side is the sandbox: a DND set there sends ContactDndUpdate as HighLevel documents it (no appId), signed.
const api = await buildTestApiWithSandbox(t)
const address = await api.app.listen({ host: '127.0.0.1', port: 0 })
const url = `${address}/api/ghl-oauth/webhooks`
const { control } = api.sandbox
const { contactDnd } = api.app.runtime
await api.app.runtime.integrations.replaceActive('client-dnd', {
  locationId: SUNRISE, locationName: 'Sunrise Dental', userType: 'Location', scopes: ['conversations/message.write'],
  accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
})

t.test('a ContactDndUpdate without appId for a location a client holds is kept per contact; the latest by its timestamp wins', async (t) => {
  const on = await control.setContactDnd(JANE, { sms: 'active' }, url)
  t.equal(on.delivery?.status, 200, on.delivery?.responseBody ?? '')
  t.notOk('appId' in (on.delivery?.payload ?? {}))
  t.equal(await contactDnd.smsDnd(SUNRISE, JANE), true)

  await control.setContactDnd(JANE, { sms: 'inactive' })
  const late = await control.sendWebhook({ url, type: 'ContactDndUpdate', contactId: JANE, overrides: { timestamp: new Date(Date.now() - 60_000).toISOString() } })
  t.equal(late.status, 200, 'an older delivery is accepted...')
  t.equal(await contactDnd.smsDnd(SUNRISE, JANE), true, '...and does not overwrite the newer one')

  const off = await control.sendWebhook({ url, type: 'ContactDndUpdate', contactId: JANE })
  t.equal(off.status, 200)
  t.equal(await contactDnd.smsDnd(SUNRISE, JANE), false, 'a newer one does')

  const again = await control.sendWebhook({ url, type: 'ContactDndUpdate', contactId: JANE, overrides: { webhookId: off.payload.webhookId } })
  t.equal(again.status, 409, 'a repeated webhookId is a duplicate, like every webhook')

  await control.setContactDnd(JANE, { dnd: true }, url)
  t.equal(await contactDnd.smsDnd(SUNRISE, JANE), true, 'DND on every channel stops SMS too')
  t.equal(await contactDnd.emailDnd(SUNRISE, JANE), true, '...and email')
})

t.test('a ContactDndUpdate for the Email channel alone is kept for email, and leaves SMS free', async (t) => {
  const ed = control.addContact({ locationId: SUNRISE, name: 'Ed Mailless', email: 'ed@example.com' })
  const on = await control.setContactDnd(ed.id, { dnd: false, email: 'active' }, url)
  t.equal(on.delivery?.status, 200, on.delivery?.responseBody ?? '')
  t.equal(await contactDnd.emailDnd(SUNRISE, ed.id), true)
  t.equal(await contactDnd.smsDnd(SUNRISE, ed.id), false)
  await control.setContactDnd(ed.id, { email: 'inactive' }, url)
  t.equal(await contactDnd.emailDnd(SUNRISE, ed.id), false)
})

t.test('a ContactDndUpdate is verified like every webhook, and one without appId for a location nobody holds is refused', async (t) => {
  const forged = await control.sendWebhook({ url, type: 'ContactDndUpdate', contactId: JANE, signature: 'AAAA' })
  t.equal(forged.status, 401)

  const foreign = await control.setContactDnd(MARIA, { sms: 'active' }, url)
  t.equal(foreign.delivery?.status, 403)
  t.match(JSON.parse(foreign.delivery?.responseBody ?? '{}'), { error: 'foreign_app' })
  t.equal(await contactDnd.smsDnd(HARBOR, MARIA), null, 'nothing kept')

  const otherApp = await control.sendWebhook({ url, type: 'ContactDndUpdate', contactId: JANE, overrides: { appId: 'someone-else' } })
  t.equal(otherApp.status, 403, 'an appId that is not ours is refused as before')

  const empty = await control.sendWebhook({ url, type: 'ContactDndUpdate', contactId: JANE, overrides: { dnd: 'maybe', dndSettings: {} } })
  t.equal(empty.status, 400)
  t.match(JSON.parse(empty.responseBody), { error: 'invalid_webhook', message: /dnd, dndSettings\.SMS\.status or dndSettings\.Email\.status/ })
})
