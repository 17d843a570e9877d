import t from 'tap'
import { json, listening, SUNRISE } from './helper.ts'

t.test('locations and contacts seeded over HTTP are served by the HighLevel endpoints', async (t) => {
  const { url, control } = await listening(t)
  const location = await (await fetch(`${url}/_sandbox/locations`, json('POST', { id: 'loc-new-0000000000001', name: 'Acme Bakery' }))).json() as { id: string }
  t.equal(location.id, 'loc-new-0000000000001')
  t.equal((await fetch(`${url}/_sandbox/contacts`, json('POST', { locationId: location.id, name: 'Bob Baker', phone: '+15557770000' }))).status, 201)
  const { access_token: token } = control.issueTokens({ locationId: location.id })
  const found = await fetch(`${url}/contacts/search/duplicate?locationId=${location.id}&number=%2B15557770000`, {
    headers: { version: '2021-07-28', authorization: `Bearer ${token}` },
  })
  t.match(await found.json(), { contact: { name: 'Bob Baker', locationId: location.id } })
})

t.test('messages sent are listed per location in order, and the counts are readable', async (t) => {
  const { url, control } = await listening(t)
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  for (const message of ['one', 'two']) {
    await fetch(`${url}/conversations/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', version: '2021-04-15', authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: 'SMS', contactId: 'sbxContact0000000001', message }),
    })
  }
  const { messages } = await (await fetch(`${url}/_sandbox/messages?locationId=${SUNRISE}`)).json() as { messages: Array<{ seq: number, body: string }> }
  t.same(messages.map((m) => [m.seq, m.body]), [[1, 'one'], [2, 'two']])
  t.match(await (await fetch(`${url}/_sandbox/stats`)).json(), { messagesSent: 2, codeExchanges: 0, refreshes: 0, invalidGrants: 0, rateLimited: 0 })
})

t.test('faults set over HTTP apply to the named location and are cleared by DELETE', async (t) => {
  const { url, control } = await listening(t)
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const get = () => fetch(`${url}/locations/${SUNRISE}`, { headers: { version: '2021-07-28', authorization: `Bearer ${token}` } })
  t.equal((await fetch(`${url}/_sandbox/faults`, json('PUT', { locationId: SUNRISE, errorRate: 1, errorStatus: 503 }))).status, 200)
  t.equal((await get()).status, 503)
  t.equal((await fetch(`${url}/_sandbox/faults?locationId=${SUNRISE}`, { method: 'DELETE' })).status, 200)
  t.equal((await get()).status, 200)
})

t.test('revoke over HTTP makes the location\'s tokens invalid', async (t) => {
  const { url, control } = await listening(t)
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  t.match(await (await fetch(`${url}/_sandbox/revoke`, json('POST', { locationId: SUNRISE }))).json(), { revoked: 1 })
  const response = await fetch(`${url}/locations/${SUNRISE}`, { headers: { version: '2021-07-28', authorization: `Bearer ${token}` } })
  t.equal(response.status, 401)
  t.match(await response.json(), { message: 'Invalid token: access token is invalid' })
})

t.test('reset returns to the seed: added data, tokens, messages, counts and faults are gone', async (t) => {
  const { url, control } = await listening(t)
  control.addLocation({ name: 'Temporary' })
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  control.setFaults({ failNext: 5 })
  t.equal((await fetch(`${url}/_sandbox/reset`, { method: 'POST' })).status, 200)
  t.same(control.locations().map((l) => l.name), ['Sunrise Dental', 'Harbor Plumbing', 'Northwind Agency (agency install)'])
  t.same(control.faults(), { global: {}, locations: {} })
  const response = await fetch(`${url}/locations/${SUNRISE}`, { headers: { version: '2021-07-28', authorization: `Bearer ${token}` } })
  t.equal(response.status, 401, 'tokens issued before the reset are unknown')
})

t.test('unknown routes answer 404 in HighLevel\'s error shape', async (t) => {
  const { url } = await listening(t)
  const response = await fetch(`${url}/nowhere`)
  t.equal(response.status, 404)
  t.match(await response.json(), { statusCode: 404, message: 'Cannot GET /nowhere', error: 'Not Found' })
})
