import t from 'tap'
import { Worker } from 'bullmq'
import { crmEventOf, type NewCrmEvent } from '@ghl-connect/db'
import { CrmEventDispatcher, jobIds } from '@ghl-connect/queues'
import { createWorld, type World } from './helper.ts'

const subject = (n: number) => ({ integrationId: `00000000-0000-4000-8000-00000000000${n}`, clientId: `client-${n}`, locationId: `loc-${n}` })

async function delivered (w: World, event: NewCrmEvent, at: Date) {
  await w.events.record(event)
  await w.events.markDelivered(event.id, at)
  return event.id
}

t.test('events replay --since puts the events delivered since then back to pending under the same ids and queues them; --type narrows', async (t) => {
  const w = await createWorld(t)
  const now = Date.now()
  const broken = await delivered(w, crmEventOf.connectionBroken(subject(1), 'invalid_grant', 3), new Date(now - 30 * 60_000))
  const replaced = await delivered(w, crmEventOf.connectionReplaced(subject(2), 'loc-old'), new Date(now - 10 * 60_000))
  const older = await delivered(w, crmEventOf.connectionRecovered(subject(3), 4), new Date(now - 2 * 86_400_000))
  const pendingEvent = crmEventOf.connectionBroken(subject(4), 'uninstalled')
  await w.events.record(pendingEvent)
  // The first delivery's job is still kept by BullMQ (completed): its id would make a plain add a no-op.
  const dispatcher = new CrmEventDispatcher(w.core.queues.crmEvents)
  await dispatcher.enqueue(broken)
  const connection = w.core.redis.duplicate()
  const worker = new Worker('crm-events', async () => {}, { connection, prefix: w.core.keys.bullPrefix('crm-events') })
  await new Promise<void>((resolve) => worker.on('completed', () => resolve()))
  await worker.close()
  connection.disconnect()

  const typed = await w.ghl(['events', 'replay', '--since', '1h', '--type', 'connection.replaced'])
  t.equal(typed.code, 0, typed.stderr)
  t.match(typed.stdout, /^1 connection\.replaced events delivered since \S+ queued for delivery again \(same ids\)\.\n$/)
  t.match(await w.events.findById(replaced), { status: 'pending', deliveredAt: null })
  t.equal((await w.events.findById(broken))?.status, 'delivered', '--type leaves other types alone')

  const all = JSON.parse((await w.ghl(['events', 'replay', '--since', '1h', '--json'])).stdout)
  t.match(all, { replayed: 1, queued: 1, notQueued: 0, eventIds: [broken] })
  t.equal((await w.events.findById(older))?.status, 'delivered', 'delivered before --since: not replayed')
  for (const id of [broken, replaced]) {
    const job = await w.core.queues.crmEvents.getJob(jobIds.crmEvent(id))
    t.equal(await job?.getState(), 'waiting', `${id} waits for delivery`)
    t.same(job?.data, { eventId: id }, 'the job names the same event id')
  }
  t.equal(await w.core.queues.crmEvents.getJobState(jobIds.crmEvent(older)), 'unknown')
  t.match(await w.events.findById(pendingEvent.id), { status: 'pending' })
})

t.test('events replay needs --since, a known --type and CRM_WEBHOOK_URL, each refused with a sentence', async (t) => {
  const w = await createWorld(t)
  t.same(await w.ghl(['events', 'replay']), { code: 2, stdout: '', stderr: 'ghl: events replay needs --since: a time (2026-11-29T08:00:00Z) or a duration back from now (24h).\n' })
  const type = await w.ghl(['events', 'replay', '--since', '24h', '--type', 'sms.delivered'])
  t.equal(type.code, 2)
  t.match(type.stderr, /^ghl: --type must be one of sms\.sent, sms\.failed, sms\.delivery, sms\.received, email\.sent, email\.failed, email\.delivery, email\.received, connection\.broken/)
  const off = await w.ghl(['events', 'replay', '--since', '24h'], { env: { ...w.env, CRM_WEBHOOK_URL: '' } })
  t.same(off, { code: 1, stdout: '', stderr: 'ghl: CRM_WEBHOOK_URL is not set, so there is no CRM to deliver events to: run this with the environment the worker has.\n' })
})

t.test('two runs of events replay at once reopen and queue each event once', async (t) => {
  const w = await createWorld(t)
  const ids: string[] = []
  for (let n = 0; n < 20; n++) ids.push(await delivered(w, crmEventOf.connectionReplaced({ ...subject(1), integrationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` }, 'loc-old'), new Date()))
  const runs = await Promise.all([1, 2].map(() => w.ghl(['events', 'replay', '--since', '1h', '--json'])))
  const [a, b] = runs.map((r) => JSON.parse(r.stdout))
  t.equal(a.replayed + b.replayed, 20, 'each event goes to one run')
  t.same([...a.eventIds, ...b.eventIds].sort(), [...ids].sort())
  t.equal(await w.core.queues.crmEvents.getJobCountByTypes('wait'), 20)
})
