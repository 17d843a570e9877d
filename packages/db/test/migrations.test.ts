import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from '../src/testing.ts'
import { migrateDatabase, migrationsFolder } from '../src/index.ts'

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

t.test('two processes migrating one new database at once: one waits for the other, each migration applied once', async (t) => {
  const url = new URL(db.url)
  url.pathname = `/${db.name}_twice`
  await Promise.all([migrateDatabase(url.toString()), migrateDatabase(url.toString())])
  const { sql } = await import('@ghl-connect/db').then((m) => m.createDatabase({ url: url.toString(), poolSize: 1, transactionPooler: true }))
  const [row] = await sql`select count(*)::int as applied, count(distinct hash)::int as distinct from drizzle.__drizzle_migrations`
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
  t.same(row, { applied: journal.entries.length, distinct: journal.entries.length })
  await sql.end()
  await db.sql.unsafe(`drop database ${db.name}_twice with (force)`)
})

/** A copy of the migrations folder whose journal stops before the migration tagged `*_<name>`. */
function migrationsBefore (name: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'migrations-'))
  cpSync(migrationsFolder, folder, { recursive: true })
  const journalPath = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> }
  const at = journal.entries.findIndex((e) => e.tag.endsWith(`_${name}`))
  if (at < 0) throw new Error(`no migration named ${name}`)
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }))
  return folder
}

t.test('one location, one client: the migration keeps the newest holder of a shared location, deactivates the others with connection.replaced, and logs counts only', async (t) => {
  const shared = await createTestDatabase({ migrate: false })
  t.teardown(shared.drop)
  const before = migrationsBefore('one_location_one_client')
  t.teardown(() => rmSync(before, { recursive: true, force: true }))
  await migrateDatabase(shared.url, { migrationsFolder: before })
  const insert = (client: string, location: string, daysAgo: number) => shared.sql<Array<{ id: string }>>`
    insert into ghl_integrations (client_id, location_id, expires_at, connected_at, access_token, refresh_token)
    values (${client}, ${location}, now() + interval '1 day', now() - ${daysAgo} * interval '1 day', 'sealed-access', 'sealed-refresh') returning id`
  const [oldest] = await insert('client-oldest', 'loc-shared', 3)
  const [older] = await insert('client-older', 'loc-shared', 2)
  const [newest] = await insert('client-newest', 'loc-shared', 1)
  const [alone] = await insert('client-alone', 'loc-alone', 5)
  const [unclaimed] = await insert('', 'loc-shared', 0)

  const notices: string[] = []
  await migrateDatabase(shared.url, { onNotice: (m) => notices.push(m) })
  const rows = await shared.sql`select id, is_active, status, access_token is null and refresh_token is null as erased from ghl_integrations`
  const state = Object.fromEntries(rows.map((r) => [r.id, { active: r.is_active, erased: r.erased }]))
  t.same(state[newest!.id], { active: true, erased: false }, 'the newest holder keeps the location')
  t.same(state[older!.id], { active: false, erased: true })
  t.same(state[oldest!.id], { active: false, erased: true })
  t.same(state[alone!.id], { active: true, erased: false }, 'a location held once is untouched')
  t.same(state[unclaimed!.id], { active: true, erased: false }, 'an unclaimed install is not a holder')

  const events = await shared.sql`select id, type, payload, status from crm_events order by id`
  t.same(events.map((e) => ({ ...e })), [oldest!.id, older!.id].sort().map((id) => ({
    id: `connection.replaced-${id}`, type: 'connection.replaced', status: 'pending',
    payload: { clientId: id === oldest!.id ? 'client-oldest' : 'client-older', previousLocationId: 'loc-shared', locationId: null },
  })))
  t.same(notices, ['one location, one client: 1 location(s) were held by several clients; 2 older connection(s) deactivated, each with a connection.replaced event'])
  await t.rejects(insert('client-late', 'loc-alone', 0), { code: '23505', constraint_name: 'ghl_integrations_one_active_per_location' },
    'from now on the database refuses a second holder')
})
