import t from 'tap'
import { createWorld, JANE, settled, SUNRISE } from './helper.ts'

// More jobs at once than the HighLevel client's old fixed 32 sockets, the location's budget lifted.
const CONCURRENCY = 60
const world = await createWorld(t, { GHL_RATE_LIMIT_MAX: '100000', WORKER_CONCURRENCY: String(CONCURRENCY) })
const { sandbox } = world
await world.connect('clinic', { locationId: SUNRISE })

t.test('while HighLevel is slow, every job running holds its own call open: none waits for a socket', async (t) => {
  // A slow HighLevel: each call is answered 2 s late, so the jobs' calls overlap even on a busy machine.
  sandbox.control.setFaults({ latencyMs: 2000 })
  const submitted = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => world.submit('clinic', { contactId: JANE }, `Slow ${i}`)))
  // Started once the jobs wait: the worker takes up to CONCURRENCY of them at once.
  await world.startInProcess()
  const rows = await Promise.all(submitted.map((m) => settled(world, m.id, 30_000)))
  t.ok(rows.every((row) => row.status === 'sent'), 'every SMS sent')
  // With a socket pool smaller than the concurrency the sandbox never held more calls than the pool's sockets.
  const held = sandbox.control.stats().mostHeldAtOnce
  t.ok(held > 32, `${held} calls held at once by the slow HighLevel (more than 32 sockets)`)
  sandbox.control.clearFaults()
})
