/**
 * The api's HighLevel sockets (GHL_PROXY_CONNECTIONS): while HighLevel is slow, every proxied
 * call in flight holds a socket, so the pool's size is how many calls one api process carries at
 * once. It was a fixed 32 (at HighLevel's 0.2 s, 160 calls a second at most, whatever the load).
 */
import t, { type Test } from 'tap'
import { ghlWorld } from './ghl-world.ts'

const CALLS = 60

async function mostHeldAtOnce (t: Test, env: Record<string, string>): Promise<number> {
  const world = await ghlWorld(t, { GHL_RATE_LIMIT_MAX: '100000', ...env })
  const { app, auth, sandbox } = world
  await world.connect('client-1')
  // Each call answered 2 s late: the calls overlap even on a busy machine.
  sandbox.control.setFaults({ latencyMs: 2000 })
  const answers = await Promise.all(Array.from({ length: CALLS }, () =>
    app.inject({ method: 'POST', url: '/api/ghl/client-1/contacts/search', headers: auth, payload: { query: 'jane', pageLimit: 10 } })))
  sandbox.control.clearFaults()
  t.same([...new Set(answers.map((a) => a.statusCode))], [200], 'every call answered')
  return sandbox.control.stats().mostHeldAtOnce
}

t.test('by default more calls than the old 32 sockets are in flight at once', async (t) => {
  const held = await mostHeldAtOnce(t, {})
  t.ok(held > 32, `${held} calls held at once by the slow HighLevel`)
})

t.test('GHL_PROXY_CONNECTIONS bounds them; the calls beyond wait for a socket and are answered', async (t) => {
  const held = await mostHeldAtOnce(t, { GHL_PROXY_CONNECTIONS: '30' })
  t.ok(held <= 30, `${held} calls held at once, at most 30`)
})
