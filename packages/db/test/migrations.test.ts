import t from 'tap'
import { createTestDatabase } from '../src/testing.ts'
import { migrateDatabase } from '../src/index.ts'

const db = await createTestDatabase({ migrate: false })
t.teardown(db.drop)

async function schemaSnapshot () {
  const columns = await db.sql`select table_name, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = 'public' order by 1, 2`
  const indexes = await db.sql`select indexname, indexdef from pg_indexes where schemaname = 'public' order by 1`
  const applied = await db.sql`select hash from drizzle.__drizzle_migrations order by id`
  return JSON.stringify({ columns, indexes, applied })
}

t.test('migrating an empty database, then again, changes nothing the second time', async (t) => {
  await migrateDatabase(db.url)
  const first = await schemaSnapshot()
  t.match(first, 'ghl_integrations_one_active_per_client')
  await migrateDatabase(db.url)
  t.equal(await schemaSnapshot(), first)
})

t.test('the database itself refuses a second active integration for one client', async (t) => {
  const insert = (client: string, active: boolean) => db.sql`insert into ghl_integrations (client_id, location_id, expires_at, is_active)
    values (${client}, 'loc-1', now() + interval '1 day', ${active})`
  await insert('client-a', true)
  await insert('client-a', false)
  await t.rejects(insert('client-a', true), { code: '23505', constraint_name: 'ghl_integrations_one_active_per_client' })
  // installs not yet claimed share the empty client id and must not collide
  await insert('', true)
  await insert('', true)
})

t.test('the sweep query is answered from the refresh-due index alone (an index-only scan)', async (t) => {
  await db.sql`insert into ghl_integrations (client_id, location_id, expires_at, refresh_token)
    select 'c' || g, 'l' || g, now() + (g || ' seconds')::interval, 'sealed' from generate_series(1, 5000) g`
  await db.sql`vacuum analyze ghl_integrations`
  // The statement IntegrationsRepository.listExpiring sends, for a page after a cursor.
  const plan = await db.sql`explain select id, client_id, expires_at from ghl_integrations
    where is_active = true and expires_at < now() + interval '10 minutes' and client_id <> '' and status <> 'needs_reauth'
      and refresh_token is not null and (expires_at, id) > (now(), '00000000-0000-0000-0000-000000000000'::uuid)
    order by expires_at, id limit 5000`
  t.match(plan.map((r) => r['QUERY PLAN']).join('\n'), 'Index Only Scan using ghl_integrations_refresh_due')
})

t.test('a migration against a missing database creates it first', async (t) => {
  const url = new URL(db.url)
  url.pathname = `/${db.name}_fresh`
  await migrateDatabase(url.toString())
  const { sql } = await import('@ghl-connect/db').then((m) => m.createDatabase({ url: url.toString(), poolSize: 1 }))
  const [row] = await sql`select count(*)::int as n from ghl_integrations`
  t.equal(row?.n, 0)
  await sql.end()
  await db.sql.unsafe(`drop database ${db.name}_fresh with (force)`)
})
