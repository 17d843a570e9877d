/**
 * The legacy Private Integration Token stands in only for a client that never connected: a
 * client whose connection ended (disconnected, uninstalled) or broke must reconnect, and its
 * queued SMS are not sent through another sub-account's token.
 */
import t from 'tap'
import { createWorld, HARBOR, JANE, settled, SUNRISE } from './helper.ts'

const world = await createWorld(t)
const pit = world.sandbox.control.issueTokens({ locationId: HARBOR }).access_token
await world.startInProcess({ GHL_LEGACY_PIT_FALLBACK: 'true', GHL_LEGACY_PIT_TOKEN: pit, GHL_LEGACY_LOCATION_ID: HARBOR })
const sentWith = (body: string) => world.sandbox.control.messages().filter((m) => m.body === body)

/** An SMS taken in while the client was connected, then the connection ends before the worker sends it. */
async function queuedThenEnded (clientId: string, body: string, end: () => Promise<unknown>) {
  await world.connect(clientId, { locationId: SUNRISE })
  const { message } = await world.messages.insertOnce({ clientId, integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body })
  await end()
  await world.dispatcher.enqueue(message)
  return settled(world, message.id)
}

t.test('a client that never connected sends with the legacy PIT, to the legacy location', async (t) => {
  const message = await world.submit('never-connected', { contactId: 'sbxContact0000000003' }, 'Via the PIT')
  t.match(await settled(world, message.id), { status: 'sent' })
  t.equal(world.sandbox.control.messages(HARBOR).filter((m) => m.body === 'Via the PIT').length, 1)
})

t.test('a client disconnected after its SMS was queued: failed as not_connected, not sent with the legacy PIT', async (t) => {
  const row = await queuedThenEnded('disconnected', 'Not via the PIT', () => world.integrations.deactivate('disconnected'))
  t.match(row, { status: 'failed', errorCode: 'not_connected', errorMessage: /Please connect your GoHighLevel account first/ })
  t.same(sentWith('Not via the PIT'), [], 'nothing sent, through any token')
})

t.test('a client whose location uninstalled the app after its SMS was queued: failed as not_connected', async (t) => {
  const row = await queuedThenEnded('uninstalled', 'Uninstalled meanwhile', () =>
    world.integrations.deactivateUninstalled({ locationId: SUNRISE }, new Date(), async () => {}))
  t.match(row, { status: 'failed', errorCode: 'not_connected' })
  t.same(sentWith('Uninstalled meanwhile'), [])
})

t.test('a client whose connection broke (HighLevel refused the refresh token): failed as needs_reauth, not sent with the PIT', async (t) => {
  const row = await queuedThenEnded('broken', 'Broken meanwhile', async () => {
    const integration = (await world.integrations.findByClient('broken'))!
    await world.integrations.recordRefreshFailure(integration.id, integration.tokenVersion, { error: 'invalid_grant', status: 'needs_reauth' })
  })
  t.match(row, { status: 'failed', errorCode: 'needs_reauth' })
  t.same(sentWith('Broken meanwhile'), [])
})
