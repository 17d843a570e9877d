import t from 'tap'
import { createGhlConnectClient, GhlConnectError } from '../src/index.ts'
import { connectInBrowser, startApi, SUNRISE } from './helper.ts'

t.test('createConnectLink makes a link a user connects with; getStatus reports not connected before and the location after', async (t) => {
  const api = await startApi(t)
  const client = createGhlConnectClient({ baseUrl: api.url, apiKey: api.apiKey })
  t.same(await client.getStatus('client-1'), { connected: false, integration: null })

  const link = await client.createConnectLink({ clientId: 'client-1', ttlSeconds: 3600 })
  t.match(link, { url: /\/api\/ghl-oauth\/authorize\?clientId=client-1&/, connectPageUrl: /\/connect\?clientId=client-1&/ })
  t.ok(Math.abs(Date.parse(link.expiresAt) - Date.now() - 3_600_000) < 60_000, 'expires in the hour asked for')
  const page = await connectInBrowser(api, link.url, SUNRISE)
  t.match(await page.text(), 'GoHighLevel connected to Sunrise Dental')

  const status = await client.getStatus('client-1')
  t.match(status, { connected: true, integration: { locationId: SUNRISE, locationName: 'Sunrise Dental', status: 'active', needsRefresh: false } })
})

t.test('sendSms makes an idempotency key when none is given and returns it; sending again with it answers the first message; getSms reads it', async (t) => {
  const api = await startApi(t)
  const client = createGhlConnectClient({ baseUrl: `${api.url}/`, apiKey: api.apiKey })
  await connectInBrowser(api, (await client.createConnectLink({ clientId: 'client-2' })).url, SUNRISE)

  const input = { clientId: 'client-2', to: { phone: '+15550100001' }, message: 'Your appointment is tomorrow at 9.' }
  const first = await client.sendSms(input)
  t.match(first, { id: /^[0-9a-f-]{36}$/, status: 'queued', idempotencyKey: /^[0-9a-f-]{36}$/ })
  const retried = await client.sendSms({ ...input, idempotencyKey: first.idempotencyKey })
  t.same(retried, first, 'a retry with the returned key is the same message, not a second SMS')
  const another = await client.sendSms(input)
  t.not(another.idempotencyKey, first.idempotencyKey, 'without a key, each call is a new message')
  t.not(another.id, first.id)
  const mine = await client.sendSms({ ...input, idempotencyKey: 'appt-9913-reminder' })
  t.equal(mine.idempotencyKey, 'appt-9913-reminder', 'a key given is the key used')

  const read = await client.getSms(first.id)
  t.match(read, { id: first.id, status: /^(queued|sending|sent)$/, error: null })
  t.ok(Date.parse(read.createdAt) > 0)
})

t.test('sendEmail keeps its idempotency key like sendSms; getEmail reads the email, and getSms does not know it', async (t) => {
  const api = await startApi(t)
  const client = createGhlConnectClient({ baseUrl: api.url, apiKey: api.apiKey })
  await connectInBrowser(api, (await client.createConnectLink({ clientId: 'client-e' })).url, SUNRISE)
  const input = { clientId: 'client-e', to: { email: 'jane@example.com' }, subject: 'Tomorrow', html: '<p>See you at 9</p>' }
  const first = await client.sendEmail(input)
  t.match(first, { id: /^[0-9a-f-]{36}$/, status: 'queued', idempotencyKey: /^[0-9a-f-]{36}$/ })
  t.same(await client.sendEmail({ ...input, idempotencyKey: first.idempotencyKey }), first, 'a retry with the key is the same email')
  t.match(await client.getEmail(first.id), { id: first.id, status: /^(queued|sending|sent)$/, error: null })
  const refused = await client.getSms(first.id).catch((err: unknown) => err)
  t.ok(refused instanceof GhlConnectError)
  t.match(refused, { status: 404, error: 'sms_not_found' })
  const bad = await client.sendEmail({ ...input, subject: '' }).catch((err: unknown) => err)
  t.match(bad, { status: 400, error: 'invalid_request', message: /subject/ })
})

t.test("errors come back as GhlConnectError carrying the api's code, sentence and status", async (t) => {
  const api = await startApi(t)
  const client = createGhlConnectClient({ baseUrl: api.url, apiKey: api.apiKey })
  const failure = async (call: Promise<unknown>) => {
    const err = await call.then(() => null, (e: unknown) => e)
    t.type(err, GhlConnectError)
    const { status, error, message } = err as GhlConnectError
    return { status, error, message }
  }
  t.same(await failure(client.sendSms({ clientId: 'nobody', to: { contactId: 'c1' }, message: 'hi' })),
    { status: 409, error: 'not_connected', message: "Please connect your GoHighLevel account first. Click 'Connect GoHighLevel' in settings." })
  t.match(await failure(client.getSms('00000000-0000-4000-8000-000000000000')), { status: 404, error: /not_found/ })
  t.match(await failure(client.createConnectLink({ clientId: 'client-3', returnUrl: 'https://evil.example.net/' })),
    { status: 400, error: 'invalid_return_url', message: 'returnUrl must be on the CRM origin https://crm.example.com (CRM_ORIGIN).' })
  const stranger = createGhlConnectClient({ baseUrl: api.url, apiKey: 'not-a-key-of-this-api-at-all' })
  t.match(await failure(stranger.getStatus('client-1')), { status: 401, error: /./, message: /./ })
  const nowhere = createGhlConnectClient({ baseUrl: 'http://127.0.0.1:1', apiKey: api.apiKey })
  t.match(await failure(nowhere.getStatus('client-1')), { status: 0, error: 'unreachable' })
})
