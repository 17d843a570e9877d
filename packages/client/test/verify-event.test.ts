/**
 * verifyEvent on events exactly as the worker delivers them: a real api records a real event, the
 * worker's delivery POSTs it to the test CRM receiver, and what arrived there is checked again
 * here, the way a CRM would, with the typed client and with the Standard Webhooks reference package.
 */
import t, { type Test } from 'tap'
import { createHmac, randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Webhook } from 'standardwebhooks'
import { CrmEventsRepository } from '@ghl-connect/db'
import { startCrmReceiver, type ReceivedCrmEvent } from '@ghl-connect/testing'
import { CrmEventDelivery } from 'worker'
import { createGhlConnectClient, crmEventHeaders, verifyEvent } from '../src/index.ts'
import { connectInBrowser, HARBOR, startApi, SUNRISE } from './helper.ts'

const PLAIN_SECRET = 'the-crm-webhook-secret-of-at-least-32-chars'
const WHSEC_SECRET = `whsec_${randomBytes(32).toString('base64')}`

/** One real event (connection.replaced), delivered by the worker's delivery under each secret to a CRM receiver. */
async function capturedEvents (t: Test) {
  const plainCrm = await startCrmReceiver(PLAIN_SECRET)
  const whsecCrm = await startCrmReceiver(WHSEC_SECRET)
  t.teardown(async () => { await plainCrm.close(); await whsecCrm.close() })
  const api = await startApi(t, plainCrm.env)
  const client = createGhlConnectClient({ baseUrl: api.url, apiKey: api.apiKey })
  // Moving a connection to another location tells the CRM (connection.replaced).
  await connectInBrowser(api, (await client.createConnectLink({ clientId: 'client-4' })).url, SUNRISE)
  await connectInBrowser(api, (await client.createConnectLink({ clientId: 'client-4' })).url, HARBOR)
  const [row] = await api.db.sql<Array<{ id: string }>>`select id from crm_events where type = 'connection.replaced'`
  const outbox = new CrmEventsRepository(api.db.db)
  for (const crm of [plainCrm, whsecCrm]) {
    await api.db.sql`update crm_events set status = 'pending', delivered_at = null where id = ${row!.id}`
    await new CrmEventDelivery(outbox, { url: crm.url, secret: crm.env.CRM_WEBHOOK_SECRET }, 5000).deliver({ eventId: row!.id })
  }
  t.equal(plainCrm.received.length + whsecCrm.received.length, 2)
  const captured = ({ raw, headers }: ReceivedCrmEvent) => ({ body: raw, headers })
  return { id: row!.id, plain: captured(plainCrm.received[0]!), whsec: captured(whsecCrm.received[0]!) }
}

t.test('events as the worker delivers them verify with the typed client and with the standardwebhooks package; the legacy headers are still sent', async (t) => {
  const { id, plain, whsec } = await capturedEvents(t)

  const check = verifyEvent({ rawBody: plain.body, headers: plain.headers, secret: PLAIN_SECRET })
  t.match(check, { ok: true, event: { id, type: 'connection.replaced', data: { clientId: 'client-4', previousLocationId: SUNRISE, locationId: HARBOR } } })
  t.match(verifyEvent({ rawBody: Buffer.from(plain.body), headers: new Headers(plain.headers as Record<string, string>), secret: PLAIN_SECRET }), { ok: true },
    'the raw bytes and fetch Headers too')
  t.match(verifyEvent({ rawBody: whsec.body, headers: whsec.headers, secret: WHSEC_SECRET }), { ok: true }, 'under a whsec_ secret')

  t.equal(plain.headers[crmEventHeaders.id], id, 'webhook-id is the event id')
  t.match(plain.headers[crmEventHeaders.timestamp], /^\d+$/)
  t.ok(Math.abs(Number(plain.headers[crmEventHeaders.timestamp]) - Date.now() / 1000) < 60, 'webhook-timestamp: unix seconds at send time')
  t.match(plain.headers[crmEventHeaders.signature], /^v1,[A-Za-z0-9+/]{43}=$/)

  // The reference package, as a CRM configures it: a plain secret as whsec_ + base64 of its UTF-8 bytes, or raw.
  t.match(new Webhook(`whsec_${Buffer.from(PLAIN_SECRET).toString('base64')}`).verify(plain.body, plain.headers as Record<string, string>), { id })
  t.match(new Webhook(PLAIN_SECRET, { format: 'raw' }).verify(plain.body, plain.headers as Record<string, string>), { id })
  t.match(new Webhook(WHSEC_SECRET).verify(whsec.body, whsec.headers as Record<string, string>), { id }, 'a whsec_ secret as it is')

  for (const { body, headers, secret } of [{ ...plain, secret: PLAIN_SECRET }, { ...whsec, secret: WHSEC_SECRET }]) {
    t.equal(headers[crmEventHeaders.legacySignature], `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      'X-GHL-Connect-Signature: the HMAC of the body under the secret\'s UTF-8 bytes, as before')
    t.equal(headers[crmEventHeaders.legacyId], id, 'X-GHL-Connect-Event-Id as before')
  }
})

t.test('a captured event replayed more than 5 minutes later is refused, so is a tampered body, another secret or a re-timestamped signature', async (t) => {
  const { plain } = await capturedEvents(t)
  const sentAt = Number(plain.headers[crmEventHeaders.timestamp]) * 1000
  const at = (msAfterSending: number) => verifyEvent({ rawBody: plain.body, headers: plain.headers, secret: PLAIN_SECRET, now: new Date(sentAt + msAfterSending) })

  t.match(at(299_000), { ok: true }, 'within 5 minutes')
  t.match(at(301_000), { ok: false, reason: 'timestamp_out_of_tolerance' }, 'replayed 5 minutes and a second later')
  t.match(at(3 * 86_400_000), { ok: false, reason: 'timestamp_out_of_tolerance', message: /more than 300 seconds/ }, 'replayed days later')
  t.match(at(-301_000), { ok: false, reason: 'timestamp_out_of_tolerance' }, 'from more than 5 minutes in the future')

  const replayedNow = { ...plain.headers, [crmEventHeaders.timestamp]: String(Math.floor(Date.now() / 1000) + 3600) }
  t.match(verifyEvent({ rawBody: plain.body, headers: replayedNow, secret: PLAIN_SECRET, now: new Date(Date.now() + 3_600_000) }), { ok: false, reason: 'bad_signature' },
    'a fresh timestamp on a captured signature does not verify: the timestamp is signed')
  const verify = (rawBody: string, headers: IncomingHttpHeaders = plain.headers, secret = PLAIN_SECRET) => verifyEvent({ rawBody, headers, secret })
  t.match(verify(plain.body.replace(HARBOR, SUNRISE)), { ok: false, reason: 'bad_signature' }, 'a tampered body')
  t.match(verify(JSON.stringify(JSON.parse(plain.body), null, 1)), { ok: false, reason: 'bad_signature' }, 're-serialized JSON is not the raw body')
  t.match(verify(plain.body, plain.headers, 'another-secret-of-at-least-32-characters'), { ok: false, reason: 'bad_signature' }, 'another secret')
  t.match(verify(plain.body, { ...plain.headers, [crmEventHeaders.id]: 'sms.sent-someone-else' }), { ok: false, reason: 'bad_signature' }, 'another webhook-id')
  t.match(verify(plain.body, { ...plain.headers, [crmEventHeaders.signature]: String(plain.headers[crmEventHeaders.signature]).replace('v1,', 'v2,') }),
    { ok: false, reason: 'bad_signature' }, 'an unknown signature version')
  t.match(verify(plain.body, { ...plain.headers, [crmEventHeaders.signature]: 'v1,zz' }), { ok: false, reason: 'bad_signature' }, 'not base64 of a MAC')
  t.match(verify(plain.body, { ...plain.headers, [crmEventHeaders.signature]: `v1,bm9wZQ== ${String(plain.headers[crmEventHeaders.signature])}` }), { ok: true },
    'one of several signatures matching is enough')
  const { [crmEventHeaders.signature]: _, ...unsigned } = plain.headers
  t.match(verify(plain.body, unsigned), { ok: false, reason: 'missing_headers' }, 'only the legacy header: not accepted, it carries no timestamp')
  t.match(verify(plain.body, { ...plain.headers, [crmEventHeaders.timestamp]: '1e12' }), { ok: false, reason: 'timestamp_out_of_tolerance' }, 'a timestamp that is not unix seconds')
})

t.test('verifyEvent is hard to call wrongly: the old positional call, a parsed body or a malformed whsec_ secret throw a TypeError that says what to pass', async (t) => {
  const call = verifyEvent as unknown as (...args: unknown[]) => unknown
  t.throws(() => call('{"id":"x"}', 'sha256=00', PLAIN_SECRET), { name: 'TypeError', message: /one object: \{rawBody, headers, secret\}/ })
  t.throws(() => call({ rawBody: { id: 'x' }, headers: {}, secret: PLAIN_SECRET }), { name: 'TypeError', message: /before JSON parsing/ })
  t.throws(() => verifyEvent({ rawBody: '{}', headers: {}, secret: '' }), { name: 'TypeError', message: /secret is empty/ })
  t.throws(() => verifyEvent({ rawBody: '{}', headers: {}, secret: 'whsec_not base64!' }), { name: 'TypeError', message: /standard base64/ })
  t.throws(() => verifyEvent({ rawBody: '{}', headers: {}, secret: `whsec_${randomBytes(16).toString('base64')}` }), { name: 'TypeError', message: /at least 24 bytes/ })
})
