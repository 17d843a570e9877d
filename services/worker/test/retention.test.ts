import t from 'tap'
import { createDatabase, RetentionRepository } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { createTestDatabase } from '@ghl-connect/testing'
import { Retention } from '../src/retention/retention.ts'

const db = await createTestDatabase()
const handle = createDatabase({ url: db.url, poolSize: 2 })
t.teardown(async () => { await handle.close(); await db.drop() })
const repository = new RetentionRepository(handle.db)
const retention = (batchSize: number) => new Retention(repository, createLogger({ level: 'silent', name: 'retention-test' }),
  { smsDays: 90, eventsDays: 30, webhookReceiptsDays: 30, batchSize, pauseMs: 1 })

/** `n` SMS rows in `status`, last changed `daysAgo` days ago, with bodies `<label> <i>`. */
const sms = (label: string, status: string, daysAgo: number, n = 1) => db.sql`
  insert into sms_messages (client_id, contact_id, body, status, created_at, updated_at, sent_at)
  select 'c', 'contact', ${label} || ' ' || g, ${status}, now() - ${`${daysAgo} days`}::interval, now() - ${`${daysAgo} days`}::interval,
    case when ${status} = 'sent' then now() - ${`${daysAgo} days`}::interval end
  from generate_series(1, ${n}) g`
const event = (id: string, status: string, daysAgo: number) => db.sql`
  insert into crm_events (id, type, payload, status, created_at, delivered_at)
  values (${id}, 'sms.sent', '{}', ${status}, now() - ${`${daysAgo} days`}::interval, case when ${status} = 'delivered' then now() - ${`${daysAgo} days`}::interval end)`
const bodies = async () => (await db.sql<Array<{ body: string }>>`select body from sms_messages order by body`).map((r) => r.body)

t.test('retention deletes old sent/failed SMS, delivered events, webhook receipts, expired links and claim codes and unclaimed delivery reports; recent rows and unfinished SMS stay', async (t) => {
  await sms('old-sent', 'sent', 91, 25)
  await sms('old-failed', 'failed', 120)
  await sms('recent-sent', 'sent', 89)
  await sms('old-queued', 'queued', 200)
  await sms('old-sending', 'sending', 200)
  await event('old-delivered', 'delivered', 31)
  await event('recent-delivered', 'delivered', 29)
  await event('old-pending', 'pending', 60)
  await event('old-failed', 'failed', 60)
  await db.sql`insert into webhook_receipts (webhook_id, type, received_at) values ('old', 'INSTALL', now() - interval '31 days'), ('recent', 'INSTALL', now() - interval '29 days')`
  await db.sql`insert into used_connect_links (link_hash, client_id, expires_at) values ('expired', 'c', now() - interval '2 days'), ('valid', 'c', now() + interval '1 day')`
  await db.sql`insert into install_claim_codes (location_id, code_hash, expires_at) values ('expired', 'h', now() - interval '2 days'), ('valid', 'h', now() + interval '1 day')`
  await db.sql`insert into early_delivery_statuses (ghl_message_id, status, reported_at, received_at) values ('never-ours', 'delivered', now() - interval '2 days', now() - interval '2 days'), ('waiting', 'delivered', now(), now())`

  const result = await retention(10).run()
  t.same(result.deleted, { sms: 26, events: 1, webhookReceipts: 1, connectLinks: 1, claimCodes: 1, earlyDeliveryStatuses: 1 })
  t.same(await bodies(), ['old-queued 1', 'old-sending 1', 'recent-sent 1'], 'a queued or sending SMS is never history, however old')
  t.same((await db.sql`select id from crm_events order by id`).map((r) => r.id), ['old-failed', 'old-pending', 'recent-delivered'], 'an event not yet delivered stays')
  t.same((await db.sql`select webhook_id from webhook_receipts`).map((r) => r.webhook_id), ['recent'])
  t.same((await db.sql`select link_hash from used_connect_links`).map((r) => r.link_hash), ['valid'])
  t.same((await db.sql`select location_id from install_claim_codes`).map((r) => r.location_id), ['valid'])
  t.same((await db.sql`select ghl_message_id from early_delivery_statuses`).map((r) => r.ghl_message_id), ['waiting'], 'a delivery report a day old was for an SMS the location sent without us')
  t.same(await retention(10).run().then((r) => r.deleted), { sms: 0, events: 0, webhookReceipts: 0, connectLinks: 0, claimCodes: 0, earlyDeliveryStatuses: 0 }, 'a second run finds nothing')
})

t.test('each statement deletes at most one batch, oldest first', async (t) => {
  await db.sql`truncate sms_messages`
  await sms('a-oldest', 'sent', 300, 5)
  await sms('b-older', 'sent', 200, 10)
  const before = new Date(Date.now() - 90 * 86_400_000)
  t.equal(await repository.deleteBatch('sms', before, 7), 7)
  t.same((await bodies()).filter((b) => b.startsWith('a-')), [], 'the oldest went first')
  t.equal(await repository.deleteBatch('sms', before, 7), 7)
  t.equal(await repository.deleteBatch('sms', before, 7), 1)
  t.equal(await repository.deleteBatch('sms', before, 7), 0)
})

t.test('a batch is an index range scan on the age column, however large the history', async (t) => {
  await db.sql`truncate sms_messages`
  await sms('recent', 'sent', 1, 20_000)
  await db.sql`insert into crm_events (id, type, payload, status, delivered_at)
    select 'e' || g, 'sms.sent', '{}', 'delivered', now() - (g || ' minutes')::interval from generate_series(1, 20000) g`
  await db.sql`analyze sms_messages`
  await db.sql`analyze crm_events`
  const plan = async (query: string) => (await db.sql.unsafe(`explain ${query}`)).map((r) => r['QUERY PLAN']).join('\n')
  t.match(await plan(`select id from sms_messages where status in ('sent', 'failed') and updated_at < now() - interval '90 days' order by updated_at limit 1000`),
    /Index Scan using sms_messages_finished/)
  t.match(await plan(`select id from crm_events where status = 'delivered' and delivered_at < now() - interval '30 days' order by delivered_at limit 1000`),
    /Index Scan using crm_events_delivered/)
})
