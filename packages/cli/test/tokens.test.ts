import t from 'tap'
import { buildApp, createRuntime } from 'api'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { createWorld } from './helper.ts'

t.test('tokens create mints a token the api takes, for its client and scopes only; tokens list shows it without the secret; tokens revoke ends it', async (t) => {
  const w = await createWorld(t)
  const app = await buildApp(createRuntime(loadApiConfig(w.env), createLogger({ level: 'silent' })))
  t.teardown(() => app.close())
  const now = Date.parse('2026-11-30T03:00:00Z')

  const created = await w.ghl(['tokens', 'create', 'client-42', '--name', 'support assistant', '--scopes', 'sms:read,contacts:read', '--expires-in', '30d'])
  t.equal(created.code, 0, created.stderr)
  const token = /^token:\s+(gct_\S+)\s+\(shown once: store it now\)$/m.exec(created.stdout)?.[1]
  const id = /^id:\s+(\S+)$/m.exec(created.stdout)?.[1]
  t.ok(token, 'the token, once')
  t.match(created.stdout, /^scopes:\s+sms:read contacts:read$/m)
  t.match(created.stdout, /^expires:\s+\S+ \(in (29d 23h|30d)\)$/m)

  const auth = { authorization: `Bearer ${token}` }
  const sms = await app.inject({ url: '/api/sms/00000000-0000-4000-8000-000000000000', headers: auth })
  t.equal(sms.statusCode, 404, 'the api takes it where sms:read reaches')
  t.equal((await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: 'client-42', to: { phone: '+15550100001' }, message: 'hi' } })).json().error,
    'insufficient_scope', 'and refuses it past its scopes')

  const listed = await w.ghl(['tokens', 'list', 'client-42'], { now: () => now })
  t.equal(listed.code, 0, listed.stderr)
  const lines = listed.stdout.trimEnd().split('\n')
  t.match(lines[0], /^ID\s+NAME\s+EXPIRES\s+LAST USED\s+SCOPES$/)
  t.match(lines[1], new RegExp(`^${id}\\s+support assistant\\s+in \\S+.*ago\\s+sms:read contacts:read$`), 'used once, by the api')
  t.equal(lines.length, 2)
  const asJson = JSON.parse((await w.ghl(['tokens', 'list', 'client-42', '--json'])).stdout)
  t.match(asJson, [{ id, clientId: 'client-42', name: 'support assistant', scopes: ['sms:read', 'contacts:read'], lastUsedAt: /^\d{4}-/ }])
  t.notOk(JSON.stringify(asJson).includes(token!.slice(-43)), 'no secret in the list')

  t.same(await w.ghl(['tokens', 'revoke', 'client-42', id!]), { code: 0, stdout: `Revoked access token ${id} of client "client-42".\n`, stderr: '' })
  t.equal((await app.inject({ url: '/api/sms/00000000-0000-4000-8000-000000000000', headers: auth })).statusCode, 401, 'the api refuses it from then on')
  t.same(await w.ghl(['tokens', 'list', 'client-42']), { code: 0, stdout: 'Client "client-42" has no access token.\n', stderr: '' })
})

t.test('tokens create and revoke refuse a bad scope, a missing name, a bad lifetime and an unknown token with a sentence', async (t) => {
  const w = await createWorld(t)
  const scope = await w.ghl(['tokens', 'create', 'client-7', '--name', 'x', '--scopes', 'sms:send,sms:delete'])
  t.equal(scope.code, 2)
  t.match(scope.stderr, /^ghl: "sms:delete" is not a scope\. Scopes: sms:send, sms:read, /)
  t.same(await w.ghl(['tokens', 'create', 'client-7']),
    { code: 2, stdout: '', stderr: 'ghl: tokens create needs --name: who uses the token, e.g. --name "support assistant".\n' })
  t.same(await w.ghl(['tokens', 'create', 'client-7', '--name', 'x', '--expires-in', 'soon']),
    { code: 2, stdout: '', stderr: 'ghl: --expires-in "soon" is not a duration: write it as 90m, 12h or 30d.\n' })
  t.match((await w.ghl(['tokens', 'create', 'client-7', '--name', 'x', '--expires-in', '400d'])).stderr, /^ghl: expiresInSeconds must be a whole number from 1 to 31536000 \(CLIENT_TOKEN_MAX_LIFETIME_DAYS\)/)
  const unknown = await w.ghl(['tokens', 'revoke', 'client-7', '00000000-0000-4000-8000-000000000000'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^ghl: Client "client-7" has no access token with id 00000000-0000-4000-8000-000000000000/)
  t.equal((await w.ghl(['tokens', 'revoke', 'client-7', 'abc'])).code, 2)
})
