/**
 * A CRM that takes the connection and never answers: the delivery ends at its deadline, the
 * attempt is recorded with a reason a person can read, and the event stays pending for a retry.
 */
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createDatabase, CrmEventsRepository } from '@ghl-connect/db'
import { createTestDatabase } from '@ghl-connect/testing'
import { CrmEventDelivery } from '../src/crm-events/crm-event-delivery.ts'

const db = await createTestDatabase()
const handle = createDatabase({ url: db.url, poolSize: 2 })
const held: ServerResponse[] = []
const silentCrm = createServer((_req: IncomingMessage, res: ServerResponse) => { held.push(res) })
await new Promise<void>((resolve) => silentCrm.listen(0, '127.0.0.1', resolve))
t.teardown(async () => {
  silentCrm.closeAllConnections()
  await new Promise((resolve) => silentCrm.close(resolve))
  await handle.close()
  await db.drop()
})
const { port } = silentCrm.address() as { port: number }

t.test('no answer within the timeout: the attempt is recorded as such and the event waits for its retry', async (t) => {
  await db.sql`insert into crm_events (id, type, payload, status) values ('evt-silent', 'sms.sent', '{}', 'pending')`
  const delivery = new CrmEventDelivery(new CrmEventsRepository(handle.db), { url: `http://127.0.0.1:${port}/events`, secret: 'a-crm-webhook-secret-of-32-characters' }, 300)
  await t.rejects(delivery.deliver({ eventId: 'evt-silent' }), /could not be reached: no answer within 300 ms.*retrying/)
  const [row] = await db.sql<Array<{ status: string, attempts: number, last_error: string }>>`select status, attempts, last_error from crm_events where id = 'evt-silent'`
  t.match(row, { status: 'pending', attempts: 1, last_error: 'the CRM could not be reached: no answer within 300 ms' })
  t.equal(held.length, 1, 'the CRM got the request')
})
