import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createServer, type IncomingMessage } from 'node:http'
import type { Test } from 'tap'
import t from 'tap'
import { WebhookSigner } from '../src/index.ts'
import { json, listening, SUNRISE } from './helper.ts'

interface Received { headers: IncomingMessage['headers'], raw: Buffer }

/** A receiver standing in for the api's webhook route: keeps the raw bytes, answers 200. */
async function receiver (t: Test): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks) })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`, received }
}

const verifies = (publicKeyBase64: string, raw: Buffer, signature: string) =>
  verify(null, raw, createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' }), Buffer.from(signature, 'base64'))

t.test('INSTALL is signed with Ed25519 over the raw body, verifiable with the key the sandbox publishes', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  const { publicKey } = await (await fetch(`${url}/_sandbox/webhook-public-key`)).json() as { publicKey: string }
  const delivery = await control.sendWebhook({ url: hooks.url, type: 'INSTALL', locationId: SUNRISE })
  t.equal(delivery.status, 200)
  const [got] = hooks.received
  t.ok(got)
  const signature = String(got?.headers['x-ghl-signature'])
  t.ok(verifies(publicKey, got?.raw ?? Buffer.alloc(0), signature), 'the signature verifies over the bytes received')
  t.notOk(verifies(publicKey, Buffer.from(JSON.stringify(JSON.parse(String(got?.raw)), null, 2)), signature), 're-serialised JSON does not verify')
  const payload = JSON.parse(String(got?.raw))
  t.match(payload, { type: 'INSTALL', appId: 'app-1', locationId: SUNRISE, companyId: 'sbxCompany0000000001', installType: 'Location', webhookId: /^[0-9a-f-]{36}$/ })
  t.ok(Date.parse(payload.timestamp), 'an ISO timestamp')
})

t.test('UNINSTALL through the control API carries type, appId, locationId, timestamp and a fresh webhookId', async (t) => {
  const { url } = await listening(t)
  const hooks = await receiver(t)
  const send = () => fetch(`${url}/_sandbox/webhooks`, json('POST', { url: hooks.url, type: 'UNINSTALL', locationId: SUNRISE }))
  t.equal((await send()).status, 200)
  t.equal((await send()).status, 200)
  const [a, b] = hooks.received.map((r) => JSON.parse(String(r.raw)))
  t.match(a, { type: 'UNINSTALL', appId: 'app-1', locationId: SUNRISE })
  t.not(a.webhookId, b.webhookId)
})

/**
 * HighLevel's own page for the event (test/ghl-docs/AppUninstall.md, copied unchanged from
 * GoHighLevel/highlevel-api-docs, CC0): its JSON schema and its two examples.
 */
function documentedUninstall () {
  const page = readFileSync(fileURLToPath(new URL('./ghl-docs/AppUninstall.md', import.meta.url)), 'utf8')
  const blocks = [...page.matchAll(/```json[^\n]*\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? ''))
  const [schema, location, agency] = blocks as [{ properties: Record<string, { type: string }> }, Record<string, unknown>, Record<string, unknown>]
  return { schema, examples: { location, agency } }
}
// Not in the page's schema, but in every delivery (ghl-api.md; the receiver's replay checks need them).
const DOCS_SILENT = ['timestamp', 'webhookId']

t.test('contract: UNINSTALL, location- and agency-level, has the fields of HighLevel\'s examples with the documented types', async (t) => {
  const { control } = await listening(t)
  const hooks = await receiver(t)
  const { schema, examples } = documentedUninstall()
  t.match(examples.agency, { type: 'UNINSTALL' })
  t.notOk('locationId' in examples.agency, 'the docs: an agency-level UNINSTALL names only the company')

  await control.sendWebhook({ url: hooks.url, type: 'UNINSTALL', locationId: SUNRISE })
  await control.sendWebhook({ url: hooks.url, type: 'UNINSTALL', companyId: 'sbxCompany0000000001' })
  const [location, agency] = hooks.received.map((r) => JSON.parse(String(r.raw)) as Record<string, unknown>)
  for (const [level, sent, example] of [['location', location, examples.location], ['agency', agency, examples.agency]] as const) {
    const fields = Object.keys(sent ?? {}).filter((k) => !DOCS_SILENT.includes(k)).sort()
    t.same(fields, Object.keys(example).sort(), `${level}-level: the example's fields, no more`)
    for (const k of fields) t.equal(typeof sent?.[k], schema.properties[k]?.type, `${level}-level ${k} is a ${schema.properties[k]?.type}`)
    t.ok(Date.parse(String(sent?.timestamp)) && typeof sent?.webhookId === 'string', `${level}-level carries a timestamp and a webhookId`)
  }
  t.match(agency, { type: 'UNINSTALL', appId: 'app-1', companyId: 'sbxCompany0000000001' })
  t.match(location, { type: 'UNINSTALL', appId: 'app-1', locationId: SUNRISE })
})

t.test('overrides and a forged signature go out as asked, for testing the receiver\'s refusals', async (t) => {
  const { control } = await listening(t)
  const hooks = await receiver(t)
  await control.sendWebhook({ url: hooks.url, type: 'INSTALL', locationId: SUNRISE, overrides: { appId: 'foreign-app' }, signature: 'AAAA' })
  t.equal(JSON.parse(String(hooks.received[0]?.raw)).appId, 'foreign-app')
  t.equal(hooks.received[0]?.headers['x-ghl-signature'], 'AAAA')
})

t.test('a configured private key (PEM or base64 DER) is used, so its public key is stable across restarts', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const expected = publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')
  t.equal((await listening(t, { webhookPrivateKey: pem })).control.webhookPublicKey().publicKey, expected)
  t.equal((await listening(t, { webhookPrivateKey: der })).control.webhookPublicKey().publicKey, expected)
  t.throws(() => new WebhookSigner('not a key'), /SANDBOX_WEBHOOK_PRIVATE_KEY is not a PKCS#8 Ed25519 private key/)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  t.throws(() => new WebhookSigner(rsa), /must be an Ed25519 private key/)
})
