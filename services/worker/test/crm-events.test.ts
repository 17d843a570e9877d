import t from 'tap'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { crmEventHeaders, verifyEvent } from '@ghl-connect/crm-events'
import { crmEventOf } from '@ghl-connect/db'
import type { CrmEventJob } from '@ghl-connect/queues'
import { startCrmReceiver } from '@ghl-connect/testing'
import { createWorld, eventually, freePort, HARBOR, JANE, settled, SUNRISE } from './helper.ts'

t.test('sms.sent and sms.failed reach the CRM signed as Standard Webhooks say (and with the legacy header), retried until a 2xx', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  await crm.down('refuse')
  const world = await createWorld(t, crm.env)
  await world.connect('clinic', { locationId: SUNRISE })
  await world.startInProcess()
  const sent = await world.submit('clinic', { contactId: JANE }, 'Signed')
  const failed = await world.submit('clinic', { name: 'Nobody At All' })
  const row = await settled(world, sent.id)
  await settled(world, failed.id)
  await eventually('a delivery failed while the CRM refused connections', async () =>
    (await world.db.sql<Array<{ n: number }>>`select count(*)::int as n from crm_events where attempts > 0`)[0]!.n > 0)
  await crm.up()

  await eventually('both events accepted by the CRM', () => crm.ofType('sms.sent').length > 0 && crm.ofType('sms.failed').length > 0)
  const events = crm.received
  t.ok(events.every((r) => r.verified && r.standardWebhooks), 'every delivery verifies with the typed client and with the standardwebhooks package')
  const sentEvent = crm.ofType('sms.sent')[0]!
  t.match(sentEvent, { type: 'sms.sent', data: { messageId: sent.id, clientId: 'clinic', ghlMessageId: row.ghlMessageId, conversationId: row.ghlConversationId } })
  t.equal(sentEvent.id, `sms.sent-${sent.id}`, 'the id names the message: stable across repeats')
  t.equal(crm.ofType('sms.failed')[0]!.id, `sms.failed-${failed.id}`)
  t.same(Object.keys(sentEvent).sort(), ['data', 'id', 'occurredAt', 'type'])
  t.match(crm.ofType('sms.failed')[0], { data: { messageId: failed.id, code: 'contact_not_found', message: /Nobody At All/ } })
  for (const r of events) {
    t.equal(r.headers[crmEventHeaders.id], r.event.id, 'webhook-id is the event id, for dedupe')
    t.equal(r.headers[crmEventHeaders.type], r.event.type)
    t.equal(r.headers[crmEventHeaders.legacyId], r.event.id, 'the legacy event-id header is still sent')
    t.equal(r.headers[crmEventHeaders.legacySignature], `sha256=${createHmac('sha256', crm.env.CRM_WEBHOOK_SECRET).update(r.raw).digest('hex')}`,
      'the legacy signature is still sent, as before')
  }
  const first = events[0]!
  const tampered = first.raw.replace('sms.', 'xx.')
  t.match(verifyEvent({ rawBody: tampered, headers: first.headers, secret: crm.env.CRM_WEBHOOK_SECRET }), { ok: false, reason: 'bad_signature' }, 'a changed body no longer verifies')
})

t.test('a refresh token HighLevel no longer accepts: the SMS fails with needs_reauth and the CRM hears connection.broken', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  await world.connect('revoked', { locationId: HARBOR, expired: true })
  world.sandbox.control.revokeTokens(HARBOR, { refreshTokens: true })
  await world.startInProcess()
  const message = await world.submit('revoked', { contactId: 'sbxContact0000000003' })
  t.match(await settled(world, message.id), { status: 'failed', errorCode: 'needs_reauth', errorMessage: /reconnect GoHighLevel/ })
  const broken = await eventually('connection.broken delivered', () =>
    crm.ofType('connection.broken')[0])
  t.match(broken.data, { clientId: 'revoked', locationId: HARBOR, reason: 'needs_reauth' })
  const integration = await world.integrations.findForSending('revoked')
  t.equal(broken.id, `connection.broken-${integration!.id}-needs_reauth-${integration!.tokenVersion}`, 'the id names the connection and the token version it failed on')
  t.equal((await world.integrations.findByClient('revoked'))?.status, 'needs_reauth')
})

t.test('legacy PIT fallback: a client without OAuth sends with the PIT to the legacy location, each use logged as deprecated', async (t) => {
  const world = await createWorld(t)
  const pit = world.sandbox.control.issueTokens({ locationId: HARBOR }).access_token
  const worker = world.spawnWorker({ GHL_LEGACY_PIT_FALLBACK: 'true', GHL_LEGACY_PIT_TOKEN: pit, GHL_LEGACY_LOCATION_ID: HARBOR, LOG_LEVEL: 'warn' })
  const message = await world.submit('not-migrated-yet', { contactId: 'sbxContact0000000003' }, 'Via the PIT')
  t.match(await settled(world, message.id), { status: 'sent' })
  t.equal(world.sandbox.control.messages(HARBOR).filter((m) => m.body === 'Via the PIT').length, 1)
  worker.child.kill('SIGTERM')
  await worker.exited
  t.match(worker.output(), /"deprecation":"legacy_pit".*sending with the legacy Private Integration Token/)
  t.notMatch(worker.output(), pit, 'the PIT itself is never logged')
})

t.test('a crm-events job our code did not record (added or edited through Bull Board) is never delivered; a published one is', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  const madeUp = { id: randomUUID(), type: 'connection.broken', occurredAt: new Date().toISOString(), data: { clientId: 'victim', locationId: HARBOR, reason: 'needs_reauth' } }
  // What Bull Board's "add job" does: a job straight on the queue, with a whole made-up event in it...
  const added = await world.queues.crmEvents.add('deliver', madeUp as unknown as CrmEventJob)
  // ...or naming an event nobody recorded (what "edit data" makes of a genuine job too).
  const forged = await world.queues.crmEvents.add('deliver', { eventId: `connection.broken-${randomUUID()}-needs_reauth-1` })
  const edited = await world.queues.crmEvents.add('deliver', { eventId: { id: 'someone-else' } } as unknown as CrmEventJob)
  await world.crmEvents.publish(crmEventOf.connectionRecovered({ integrationId: randomUUID(), clientId: 'genuine', locationId: SUNRISE }, 1))

  await world.startInProcess()
  const delivered = await eventually('the published event delivered', () =>
    crm.ofType('connection.recovered')[0])
  t.match(delivered, { type: 'connection.recovered', data: { clientId: 'genuine', locationId: SUNRISE } })
  for (const job of [added, forged, edited]) {
    const state = await eventually(`job ${job.id} settled`, async () => {
      const s = await world.queues.crmEvents.getJobState(job.id!)
      return s === 'failed' ? s : undefined
    })
    t.equal(state, 'failed')
    const failed = await world.queues.crmEvents.getJob(job.id!)
    t.equal(failed?.attemptsMade, 1, 'failed for good, not retried')
    t.match(failed?.failedReason, /names no event ghl-connect recorded/)
  }
  t.equal(crm.received.length, 1, 'only the published event reached the CRM')
})

t.test("the worker's /metrics asks for METRICS_TOKEN when it is set", async (t) => {
  const token = randomBytes(32).toString('hex')
  const world = await createWorld(t, { METRICS_TOKEN: token })
  // a port found free can be taken by another test's process before the worker binds it: then try another
  let port = 0
  for (let attempt = 1; port === 0; attempt++) {
    const candidate = await freePort()
    try {
      await world.startInProcess({ WORKER_HEALTH_PORT: String(candidate) })
      port = candidate
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw err
    }
  }
  const scrape = (authorization?: string) => fetch(`http://127.0.0.1:${port}/metrics`, { headers: authorization ? { authorization } : {} })
  const anonymous = await scrape()
  t.equal(anonymous.status, 401)
  t.same(await anonymous.json(), { error: 'metrics_token_required', message: 'Scraping /metrics needs "Authorization: Bearer <METRICS_TOKEN>".' })
  t.equal((await scrape('Bearer wrong-token-wrong-token-wrong')).status, 401)
  const allowed = await scrape(`Bearer ${token}`)
  t.equal(allowed.status, 200)
  t.match(await allowed.text(), /# TYPE ghl_connect_jobs_total counter/)
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
  t.same(await ready.json(), { status: 'ready', postgres: { ok: true }, redis: { ok: true }, workers: { ok: true } }, 'readiness needs no token and names dependencies only')
})
