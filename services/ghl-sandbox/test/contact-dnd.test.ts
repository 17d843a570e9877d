import { createPublicKey, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import t from 'tap'
import { json, listening, SUNRISE } from './helper.ts'

const JANE = 'sbxContact0000000001'

/** A receiver standing in for the api's webhook route: keeps the raw bytes and the signature. */
async function receiver (t: Test): Promise<{ url: string, received: Array<{ raw: Buffer, signature: string }> }> {
  const received: Array<{ raw: Buffer, signature: string }> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ raw: Buffer.concat(chunks), signature: String(req.headers['x-ghl-signature']) })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`, received }
}

/** HighLevel's page for the event (test/ghl-docs/ContactDndUpdate.md, copied unchanged, CC0): its schema and example. */
function documented () {
  const page = readFileSync(fileURLToPath(new URL('./ghl-docs/ContactDndUpdate.md', import.meta.url)), 'utf8')
  const [schema, example] = [...page.matchAll(/```json[^\n]*\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? '')) as
    [{ properties: Record<string, { type: string | string[] }> }, Record<string, unknown>]
  return { schema, example }
}
const typeOf = (v: unknown) => Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v
// Not in the page's schema, but in every delivery (ghl-api.md; the receiver's replay checks need them).
const DOCS_SILENT = ['timestamp', 'webhookId']

t.test('contract: a DND set through the control API sends a signed ContactDndUpdate with the fields and types of HighLevel\'s page', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  const { schema, example } = documented()
  const res = await fetch(`${url}/_sandbox/contacts/${JANE}/dnd`, json('POST', { sms: 'active', webhookUrl: hooks.url }))
  t.equal(res.status, 200)
  t.match(await res.json(), { contact: { id: JANE, dnd: false, dndSettings: { SMS: { status: 'active' } } }, delivery: { status: 200 } })

  const [{ raw, signature } = { raw: Buffer.alloc(0), signature: '' }] = hooks.received
  const key = createPublicKey({ key: Buffer.from(control.webhookPublicKey().publicKey, 'base64'), format: 'der', type: 'spki' })
  t.ok(verify(null, raw, key, Buffer.from(signature, 'base64')), 'signed over the raw body like every webhook')
  const sent = JSON.parse(String(raw)) as Record<string, unknown>
  t.match(sent, { type: 'ContactDndUpdate', locationId: SUNRISE, id: JANE, dnd: false, dndSettings: { SMS: { status: 'active' }, Email: { status: 'inactive' } } })
  t.notOk('appId' in sent, 'no appId, as in HighLevel\'s example')
  for (const [k, v] of Object.entries(sent).filter(([k]) => !DOCS_SILENT.includes(k))) {
    const documentedType = schema.properties[k]?.type
    t.ok(documentedType !== undefined, `${k} is in the page's schema`)
    t.equal(typeOf(v), documentedType, `${k} is a ${String(documentedType)}`)
    t.ok(k in example, `${k} is in the page's example`)
  }
  t.same(Object.keys(sent.dndSettings as object).sort(), Object.keys(example.dndSettings as object).sort(), 'every channel of the example')
  t.ok(Date.parse(String(sent.timestamp)) && typeof sent.webhookId === 'string', 'carries a timestamp and a webhookId')
})

t.test('an SMS to a contact with DND (overall or for SMS) is refused 400 and not recorded; lifting it lets SMS through', async (t) => {
  const { url, control } = await listening(t)
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const send = () => fetch(`${url}/conversations/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', version: '2021-04-15', authorization: `Bearer ${token}` },
    body: JSON.stringify({ type: 'SMS', contactId: JANE, message: 'hi' }),
  })
  await control.setContactDnd(JANE, { dnd: true })
  const overall = await send()
  t.equal(overall.status, 400)
  t.match(await overall.json(), { statusCode: 400, message: /DND/ })
  await control.setContactDnd(JANE, { dnd: false, sms: 'permanent' })
  t.equal((await send()).status, 400)
  t.same(control.messages(), [], 'nothing was sent')

  await control.setContactDnd(JANE, { sms: 'inactive' })
  t.equal((await send()).status, 200)
  t.equal(control.messages().length, 1)
  const bad = await fetch(`${url}/_sandbox/contacts/${JANE}/dnd`, json('POST', { sms: 'sometimes' }))
  t.equal(bad.status, 400)
})
