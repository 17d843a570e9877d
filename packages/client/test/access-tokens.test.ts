import t from 'tap'
import { createGhlConnectClient, GhlConnectError } from '../src/index.ts'
import { connectInBrowser, startApi, SUNRISE } from './helper.ts'

t.test('createAccessToken mints a token a client of its own sends SMS with, for its client only; listAccessTokens hides it; revokeAccessToken ends it', async (t) => {
  const api = await startApi(t)
  const crm = createGhlConnectClient({ baseUrl: api.url, apiKey: api.apiKey })
  await connectInBrowser(api, (await crm.createConnectLink({ clientId: 'client-1' })).url, SUNRISE)

  const created = await crm.createAccessToken('client-1', { name: 'client 1 integration', scopes: ['sms:send', 'sms:read'] })
  t.match(created, { id: /^[0-9a-f-]{36}$/, token: /^gct_/, clientId: 'client-1', name: 'client 1 integration', scopes: ['sms:send', 'sms:read'] })
  const integration = createGhlConnectClient({ baseUrl: api.url, apiKey: created.token })
  const sent = await integration.sendSms({ clientId: 'client-1', to: { phone: '+15550100001' }, message: 'Your appointment is tomorrow.' })
  t.equal((await integration.getSms(sent.id)).id, sent.id, 'the token sends and reads its own client\'s SMS')
  const refused = await integration.getStatus('client-1').then(() => null, (e: unknown) => e)
  t.type(refused, GhlConnectError)
  t.match(refused, { status: 403, error: 'insufficient_scope' })
  t.match(await integration.sendSms({ clientId: 'client-2', to: { phone: '+15550100001' }, message: 'hi' }).then(() => null, (e: unknown) => e),
    { status: 403, error: 'wrong_client' })

  const { accessTokens } = await crm.listAccessTokens('client-1')
  t.match(accessTokens, [{ id: created.id, name: 'client 1 integration', lastUsedAt: /^\d{4}-/ }])
  t.notOk(JSON.stringify(accessTokens).includes(created.token.slice(-43)), 'no secret in the list')

  t.equal(await crm.revokeAccessToken('client-1', created.id), undefined)
  t.match(await integration.getSms(sent.id).then(() => null, (e: unknown) => e), { status: 401, error: 'invalid_access_token' })
  t.same((await crm.listAccessTokens('client-1')).accessTokens, [])
  t.match(await crm.revokeAccessToken('client-1', '00000000-0000-4000-8000-000000000000').then(() => null, (e: unknown) => e), { status: 404, error: 'access_token_not_found' })
})
