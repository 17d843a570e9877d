import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { eventually, ghlWorld, SUNRISE } from './ghl-world.ts'

type ToolAnswer = { isError?: boolean, content: Array<{ type: string, text: string }> }
const json = (answer: unknown) => JSON.parse((answer as ToolAnswer).content[0]!.text)

t.test('an MCP client lists the tools, sends an SMS to "Lina Park" by name and reads its status as sent', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-1')
  world.sandbox.control.addContact({ locationId: SUNRISE, name: 'Lina Park', phone: '+15550109999' })
  world.startWorker()
  const address = await world.app.listen({ port: 0, host: '127.0.0.1' })

  const client = new Client({ name: 'crm-assistant', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${address}/mcp`), {
    requestInit: { headers: { authorization: world.auth.authorization, 'x-client-id': 'client-1' } },
  }))
  t.teardown(() => client.close())

  const { tools } = await client.listTools()
  t.same(tools.map((tool) => tool.name).sort(), ['email_status', 'find_contacts', 'get_calendar_events', 'get_contact', 'list_pipelines', 'search_opportunities', 'send_email', 'send_sms', 'sms_status', 'upsert_contact'])

  const sent = await client.callTool({ name: 'send_sms', arguments: { name: 'Lina Park', message: 'test' } })
  t.notOk((sent as ToolAnswer).isError)
  const { id, status } = json(sent)
  t.equal(status, 'queued')
  const view = await eventually('the SMS sent', async () => {
    const answer = json(await client.callTool({ name: 'sms_status', arguments: { id } }))
    return answer.status === 'sent' ? answer : undefined
  })
  t.match(view, { id, status: 'sent', attempts: 1, error: null })
  const [delivered, ...more] = world.sandbox.control.messages(SUNRISE)
  t.same(more, [])
  t.equal(delivered?.body, 'test')
  t.equal(world.sandbox.control.contacts(SUNRISE).find((c) => c.id === delivered?.contactId)?.name, 'Lina Park', 'to Lina Park')

  const found = json(await client.callTool({ name: 'find_contacts', arguments: { query: 'lina' } }))
  t.same(found.contacts.map((c: { name: string }) => c.name), ['Lina Park'])
  const contact = json(await client.callTool({ name: 'get_contact', arguments: { contactId: delivered!.contactId } }))
  t.equal(contact.contact.phone, '+15550109999')
  const upserted = json(await client.callTool({ name: 'upsert_contact', arguments: { phone: '+15550108080', name: 'Omar Reyes' } }))
  t.equal(upserted.new, true)
  const deals = json(await client.callTool({ name: 'search_opportunities', arguments: { status: 'won' } }))
  t.same(deals.opportunities.map((o: { name: string }) => o.name), ['John Smith - cleaning'])
  const pipelines = json(await client.callTool({ name: 'list_pipelines', arguments: {} }))
  t.equal(pipelines.pipelines[0].name, 'New patients')
  const events = json(await client.callTool({ name: 'get_calendar_events', arguments: { startTime: '2026-01-12T00:00:00Z', endTime: '2026-01-14T00:00:00Z' } }))
  t.same(events.events.map((e: { title: string }) => e.title), ['Implant consultation', 'Cleaning'])

  const unknown = await client.callTool({ name: 'sms_status', arguments: { id: '00000000-0000-4000-8000-000000000000' } })
  t.equal((unknown as ToolAnswer).isError, true, 'a tool error, not a protocol error')
  t.equal(json(unknown).error, 'sms_not_found')
  const nobody = await client.callTool({ name: 'send_sms', arguments: { name: 'Nobody Here', message: 'hi', idempotencyKey: 'k-1' } })
  t.equal(json(nobody).status, 'queued', 'a name is resolved by the worker, as POST /api/sms does')
})

t.test('the MCP endpoint needs the API key and a client, and a client reads only its own SMS', async (t) => {
  const world = await ghlWorld(t)
  const noKey = await world.app.inject({ method: 'POST', url: '/mcp/client-1', payload: {} })
  t.equal(noKey.statusCode, 401)
  const noClient = await world.app.inject({ method: 'POST', url: '/mcp', headers: world.auth, payload: {} })
  t.equal(noClient.statusCode, 400)
  t.equal(noClient.json().error, 'client_id_required')
  const notConnected = await world.app.inject({
    method: 'POST', url: '/mcp/nobody', headers: { ...world.auth, accept: 'application/json, text/event-stream' },
    payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'send_sms', arguments: { phone: '+15550101234', message: 'hi' } } },
  })
  t.equal(notConnected.statusCode, 200)
  t.match(notConnected.json().result, { isError: true })
  t.equal(JSON.parse(notConnected.json().result.content[0].text).error, 'not_connected', 'our stable code, as a tool error')

  await world.connect('client-2')
  const theirs = await world.app.inject({ method: 'POST', url: '/api/sms', headers: world.auth, payload: { clientId: 'client-2', to: { phone: '+15550101234' }, message: 'private' } })
  const call = (clientId: string) => world.app.inject({
    method: 'POST', url: `/mcp/${clientId}`, headers: { ...world.auth, accept: 'application/json, text/event-stream' },
    payload: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'sms_status', arguments: { id: theirs.json().id } } },
  })
  t.equal(JSON.parse((await call('client-1')).json().result.content[0].text).error, 'sms_not_found', 'another client\'s SMS is unknown to this one')
  t.equal(JSON.parse((await call('client-2')).json().result.content[0].text).status, 'queued', 'its own client reads it')
})

t.test('a failure of ours (PostgreSQL refusing the write) is a tool error named internal_error, never the query and its values', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-1')
  const address = await world.app.listen({ port: 0, host: '127.0.0.1' })
  const client = new Client({ name: 'crm-assistant', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${address}/mcp`), {
    requestInit: { headers: { authorization: world.auth.authorization, 'x-client-id': 'client-1' } },
  }))
  t.teardown(() => client.close())
  // A real failure: the outbox is gone, so the intake's INSERT fails with its values in the driver's error.
  const { sql } = world.app.runtime.database
  await sql`alter table sms_messages rename to sms_messages_away`
  t.teardown(() => sql`alter table sms_messages_away rename to sms_messages`)

  const answer = await client.callTool({ name: 'send_sms', arguments: { phone: '+15550104321', message: 'a private note', idempotencyKey: 'k-private' } })
  t.equal((answer as ToolAnswer).isError, true)
  const text = (answer as ToolAnswer).content[0]!.text
  t.same(JSON.parse(text), { error: 'internal_error', message: 'Something went wrong on our side; try again in a moment.' })
  t.notMatch(text, /5550104321|private note|sms_messages/, 'neither the number, the text nor the query')
  t.notMatch(world.logs.join('\n'), /5550104321|private note/, 'nor in the log')
})

t.test('servers are lent from one request to the next: every call, concurrent or not, same JSON-RPC id or not, acts for the client its own request names', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-sunrise')
  await world.connect('client-harbor', { locationId: 'sbxLocation000000002' })
  const find = (clientId: string) => world.app.inject({
    method: 'POST', url: `/mcp/${clientId}`, headers: { ...world.auth, accept: 'application/json, text/event-stream' },
    payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'find_contacts', arguments: { query: '', limit: 100 } } },
  })
  const locationsSeen = async (clientId: string) => {
    const answer = await find(clientId)
    const { contacts } = JSON.parse(answer.json().result.content[0].text) as { contacts: Array<{ locationId: string }> }
    return [...new Set(contacts.map((c) => c.locationId))]
  }
  for (let round = 0; round < 3; round++) {
    const clients = Array.from({ length: 12 }, (_, i) => i % 2 === 0 ? 'client-sunrise' : 'client-harbor')
    const seen = await Promise.all(clients.map(locationsSeen))
    clients.forEach((clientId, i) => t.same(seen[i], [clientId === 'client-sunrise' ? SUNRISE : 'sbxLocation000000002'], `round ${round}, call ${i}: ${clientId}'s own location`))
  }
  t.same(await locationsSeen('client-harbor'), ['sbxLocation000000002'], 'one after another too')
  t.same(await locationsSeen('client-sunrise'), [SUNRISE])
})
