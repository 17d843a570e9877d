import t from 'tap'
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { buildTestApi } from './helper.ts'

// HighLevel's key is not ours to sign with; this file signs with a pair of its own.
const { publicKey, privateKey } = generateKeyPairSync('ed25519')
const publicKeyBase64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
const signed = (body: string) => sign(null, Buffer.from(body), privateKey).toString('base64')

t.test('webhooks: only signed, fresh, first-time events of this app are accepted', async (t) => {
  const { app } = await buildTestApi(t, { GHL_WEBHOOK_PUBLIC_KEY: publicKeyBase64, GHL_APP_ID: 'app-123' })
  const event = (overrides: Record<string, unknown> = {}) => JSON.stringify({
    type: 'INSTALL', appId: 'app-123', locationId: 'loc-1', companyId: 'co-1', timestamp: new Date().toISOString(), webhookId: randomUUID(), ...overrides,
  })
  const post = (body: string, signature?: string) => app.inject({
    method: 'POST', url: '/api/ghl-oauth/webhooks', payload: body,
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-ghl-signature': signature }) },
  })

  const body = event()
  const ok = await post(body, signed(body))
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { status: 'recorded' })

  t.match((await post(body, signed(body))).json(), { error: 'duplicate_webhook' }, 'a repeated webhookId is refused')
  t.equal((await post(body, signed(body))).statusCode, 409)

  const missing = await post(event())
  t.equal(missing.statusCode, 401)
  t.match(missing.json(), { error: 'missing_signature' })

  const other = event()
  const bad = await post(other, signed(event()))
  t.equal(bad.statusCode, 401)
  t.match(bad.json(), { error: 'invalid_signature' })

  const reserialised = event()
  const spaced = JSON.stringify(JSON.parse(reserialised), null, 2)
  t.equal((await post(spaced, signed(reserialised))).statusCode, 401, 'the signature covers the raw bytes, not the JSON meaning')

  const stale = event({ timestamp: new Date(Date.now() - 6 * 60_000).toISOString() })
  t.match((await post(stale, signed(stale))).json(), { error: 'stale_webhook' })

  const foreign = event({ appId: 'someone-else' })
  const refused = await post(foreign, signed(foreign))
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), { error: 'foreign_app' })

  const notJson = 'not json at all'
  t.match((await post(notJson, signed(notJson))).json(), { error: 'invalid_json' })
  t.equal((await post('', 'garbage')).statusCode, 401)
})
