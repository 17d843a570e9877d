import t from 'tap'
import { createServer } from 'node:http'
import { GhlClient, GhlError } from '../src/index.ts'

// A HighLevel that accepts the message but answers in a way that cannot be read.
const answers: Array<(res: import('node:http').ServerResponse) => void> = [
  (res) => { res.writeHead(201, { 'content-type': 'text/html' }); res.end('<html>ok</html>') },
  (res) => { res.writeHead(201, { 'content-type': 'application/json' }); res.end('{"conversationId":"c1"}') },
  (res) => { res.writeHead(201, { 'content-type': 'application/json' }); res.write('{"messageId":'); setTimeout(() => res.destroy(), 50) },
]
let next = 0
const server = createServer((req, res) => { req.resume(); answers[next++]!(res) })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as { port: number }
const client = new GhlClient({ clientId: 'c', clientSecret: 's', redirectUri: 'http://x/cb', authBaseUrl: `http://127.0.0.1:${port}`, apiBaseUrl: `http://127.0.0.1:${port}`, httpTimeoutMs: 2000 })
t.teardown(async () => { await client.close(); server.close() })

t.test('a 2xx HighLevel answer that cannot be read is flagged as accepted, so a send is never repeated', async (t) => {
  for (const what of ['not JSON', 'without messageId', 'cut off mid-body']) {
    const err = await client.messages.sendSms({ accessToken: 'a', contactId: 'k', message: 'hi' }).then(() => null, (e: unknown) => e)
    t.ok(err instanceof GhlError, what)
    t.equal((err as GhlError).acceptedUnreadable, true, `${what}: accepted`)
    t.equal((err as GhlError).status, 201)
  }
})
