import t from 'tap'
import { randomUUID } from 'node:crypto'
import { jobIds } from '@ghl-connect/queues'
import { buildTestApi, type TestApi } from './helper.ts'

async function connect (api: TestApi, clientId: string, locationId: string) {
  await api.app.runtime.integrations.replaceActive(clientId, {
    locationId, locationName: 'Sunrise Dental', userType: 'Location', scopes: ['conversations/message.write'],
    accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
  })
}

const post = (api: TestApi, payload: unknown, requestId: string) =>
  api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'x-request-id': requestId }, payload: payload as object })

t.test('concurrent single requests share one INSERT and one addBulk; each keeps its own answer, key, job and request id', async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'group-a', 'sbxLocation000000001')
  await connect(api, 'group-b', 'sbxLocation000000002')
  // 60 requests at once: two clients, 10 keys sent twice (the pair lands in the same group), one client not connected.
  const bodies = Array.from({ length: 60 }, (_, i) => ({
    clientId: i % 30 === 29 ? 'group-nobody' : i % 2 === 0 ? 'group-a' : 'group-b',
    to: { phone: `+1555010${String(1000 + (i % 50)).padStart(4, '0')}` },
    message: `Grouped ${i % 50}`,
    idempotencyKey: `key-${i % 50}`,
  }))
  const answers = await Promise.all(bodies.map((b, i) => post(api, b, `req-${i}`)))

  const refused = answers.filter((a) => a.statusCode !== 202)
  t.same(refused.map((a) => a.json().error), ['not_connected', 'not_connected'], 'the client that is not connected: refused, each on its own, by the slow path')
  // i and i+50 carry the same key (i < 10): the pair is one message, answered with the same id.
  for (let i = 0; i < 10; i++) {
    const [first, second] = [answers[i]!, answers[i + 50]!]
    if (bodies[i]!.clientId !== bodies[i + 50]!.clientId) continue
    t.equal(first.json().id, second.json().id, `key-${i}: one message for both requests`)
  }
  const stored = await api.db.sql<Array<{ id: string, created_at: string }>>`select id, created_at from sms_messages`
  const accepted = new Set(answers.filter((a) => a.statusCode === 202).map((a) => a.json().id as string))
  t.equal(stored.length, accepted.size, 'a row for every distinct message answered 202, no more')
  // Rows of one INSERT share its transaction's time: fewer distinct times than rows means requests shared a write.
  t.ok(new Set(stored.map((r) => String(r.created_at))).size < stored.length / 2, 'most requests shared a write with others')
  for (const [i, a] of answers.entries()) {
    if (a.statusCode !== 202) continue
    const job = await api.app.runtime.queues.sms.getJob(jobIds.smsSend(a.json().id))
    // A repeated key's job is the first request's.
    const owners = i < 10 || (i >= 50) ? [`req-${i % 50}`, `req-${(i % 50) + 50}`] : [`req-${i}`]
    if (!owners.includes(String(job?.data.requestId))) t.fail(`request ${i}: its job carries ${job?.data.requestId}`)
  }
  t.equal(await api.app.runtime.queues.sms.count(), accepted.size, 'one job per message')
})
