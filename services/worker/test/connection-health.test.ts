import t from 'tap'
import { sql } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { startCrmReceiver } from '@ghl-connect/testing'
import { createWorkerRuntime } from '../src/runtime.ts'
import { createWorld, eventually, SUNRISE, type World } from './helper.ts'

const DAY = 24 * 3600_000
const AGENCY_LOCATION = 'sbxAgencyLoc00000001'
const COMPANY = 'sbxCompany0000000002'

/** An agency (Company) connection kept as an agency install keeps it, last renewed `daysAgo` days ago by our clock and HighLevel's. */
async function agencyUnusedFor (world: World, daysAgo: number) {
  const issued = world.sandbox.control.issueTokens({ locationId: AGENCY_LOCATION, userType: 'Company' })
  const agency = await world.integrations.saveAgency({
    locationId: '', companyId: COMPANY, locationName: null, userType: 'Company', scopes: String(issued.scope).split(' '),
    accessToken: issued.access_token, refreshToken: String(issued.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  })
  // Nobody used it since: its access token ran out a day after, and HighLevel's clock moved on as far.
  await world.db.db.execute(sql`update ghl_integrations set connected_at = now() - ${daysAgo} * interval '1 day',
    expires_at = now() - ${daysAgo - 1} * interval '1 day' where id = ${agency.id}`)
  world.sandbox.control.advanceClock(daysAgo * DAY)
  return agency
}

/** A client's sub-account minted through the agency (no refresh token of its own). */
async function mintedClient (world: World, clientId: string) {
  const location = world.sandbox.control.addCompanyLocation(COMPANY, { name: 'Northwind East', agencyInstall: true })
  const minted = world.sandbox.control.issueTokens({ locationId: location.id, userType: 'Location' })
  await world.integrations.replaceActive(clientId, {
    locationId: location.id, companyId: COMPANY, locationName: 'Northwind East', userType: 'Location', scopes: [],
    accessToken: minted.access_token, refreshToken: null, expiresAt: new Date(Date.now() + 86_399_000),
  })
  return location.id
}

const eventsOf = async (world: World, type: string) =>
  world.db.sql<Array<{ id: string, payload: Record<string, unknown> }>>`select id, payload from crm_events where type = ${type} order by created_at, id`

t.test('an agency connection unused for 31 days is refreshed by the sweep (its refresh token renewed); one used 29 days ago is left alone', async (t) => {
  const world = await createWorld(t)
  t.equal(world.config.tokens.agencyRefreshMs, 30 * DAY, 'AGENCY_REFRESH_DAYS defaults to 30')
  const idle = await agencyUnusedFor(world, 31)
  const runtime = createWorkerRuntime(world.config, createLogger({ level: 'silent' }))
  t.teardown(runtime.close)

  const swept = await runtime.tokenSweep.run()
  t.equal(swept.agencies, 1, 'the idle agency is queued')
  t.equal(swept.scanned, 0, 'no location token is due')
  await world.startInProcess()
  const renewed = await eventually('the agency renewed', async () => {
    const current = await world.integrations.findById(idle.id)
    return current && current.tokenVersion > idle.tokenVersion ? current : undefined
  })
  t.ok(renewed.isActive, 'still the active agency connection')
  t.not(renewed.refreshToken, idle.refreshToken, 'a new refresh token: its year starts again')
  t.ok(renewed.expiresAt.getTime() > Date.now() + 20 * 3600_000, 'and a working access token')
  t.equal(world.sandbox.control.stats().refreshes, 1, 'one refresh')
  t.equal(world.sandbox.control.stats().invalidGrants, 0)
  t.equal((await runtime.tokenSweep.run()).agencies, 0, 'renewed: the next sweep leaves it alone')

  // Used (renewed) 29 days ago: not due yet.
  await world.db.db.execute(sql`update ghl_integrations set last_refreshed_at = now() - interval '29 days' where id = ${idle.id}`)
  t.equal((await runtime.tokenSweep.run()).agencies, 0, 'an agency renewed 29 days ago is not queued')
  await world.db.db.execute(sql`update ghl_integrations set last_refreshed_at = now() - interval '31 days' where id = ${idle.id}`)
  t.equal((await runtime.tokenSweep.run()).agencies, 1, 'at 31 days it is')
})

t.test('an agency left unused past its refresh token\'s year breaks: agency.broken names the company and the sub-accounts that live on its token', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  const minted = await mintedClient(world, 'clinic')
  const agency = await agencyUnusedFor(world, 366)
  const runtime = createWorkerRuntime(world.config, createLogger({ level: 'silent' }))
  t.teardown(runtime.close)

  t.equal((await runtime.tokenSweep.run()).agencies, 1)
  await world.startInProcess()
  const [broken] = await eventually('agency.broken recorded', async () => {
    const rows = await eventsOf(world, 'agency.broken')
    return rows.length > 0 ? rows : undefined
  })
  t.equal(world.sandbox.control.stats().refreshTokensAgedOut, 1, 'HighLevel refused the refresh token: a year unused')
  t.equal(broken!.id, `agency.broken-${agency.id}-needs_reauth-${agency.tokenVersion}`, 'a deterministic id')
  t.same(broken!.payload, { companyId: COMPANY, reason: 'needs_reauth', locations: [{ clientId: 'clinic', locationId: minted }], more: false })
  t.equal((await world.integrations.findById(agency.id))?.status, 'needs_reauth')
  const received = await eventually('the CRM received it', async () => crm.received.find((e) => e.event?.type === 'agency.broken'))
  t.equal(received.event?.id, broken!.id)
  t.equal((await runtime.tokenSweep.run()).agencies, 0, 'a broken agency is not swept again')
})

t.test('a client whose refresh has failed for an hour, its token still good, gets one connection.expiring per failing episode, then connection.recovered', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  const connected = await world.connect('clinic', { locationId: SUNRISE })
  const runtime = createWorkerRuntime(world.config, createLogger({ level: 'silent' }))
  t.teardown(runtime.close)
  const tokens = runtime.tokenService
  /** One refresh attempt, as the sweep or a send makes it after the last one's cool-down. */
  const attempt = async () => {
    await world.redis.del(world.keys.refreshCooldown('clinic'))
    // A manual refresh right after a good one reuses it (recentRefreshMs): these are minutes apart.
    await world.db.db.execute(sql`update ghl_integrations set last_refreshed_at = now() - interval '1 minute' where client_id = 'clinic' and last_refreshed_at is not null`)
    return tokens.refreshNow('clinic').catch((err: Error) => err)
  }
  const backdateEpisode = (minutes: number) => world.db.db.execute(sql`update ghl_integrations
    set refresh_failing_since = refresh_failing_since - ${minutes} * interval '1 minute' where client_id = 'clinic' and is_active`)

  world.sandbox.control.setFaults({ errorRate: 1, errorStatus: 503 }, SUNRISE)
  await attempt()
  const failing = (await world.integrations.findByClient('clinic'))!
  t.ok(failing.refreshFailingSince, 'the failing episode starts at the first failure')
  t.equal(failing.tokenVersion, connected.tokenVersion, 'the token kept (still good)')
  await backdateEpisode(59)
  await attempt()
  t.same(await eventsOf(world, 'connection.expiring'), [], 'failing for 59 minutes: nothing yet')

  await backdateEpisode(2)
  await attempt()
  await attempt()
  await attempt()
  const expiring = await eventsOf(world, 'connection.expiring')
  t.equal(expiring.length, 1, 'three failures past the hour: one event')
  t.equal(expiring[0]!.id, `connection.expiring-${connected.id}-${connected.tokenVersion}`)
  t.match(expiring[0]!.payload, { clientId: 'clinic', locationId: SUNRISE, failingSince: String, expiresAt: connected.expiresAt.toISOString() })
  t.equal((await world.integrations.findByClient('clinic'))?.refreshFailures, 5, 'every attempt counted')

  world.sandbox.control.setFaults({}, SUNRISE)
  const renewed = await attempt()
  t.notOk(renewed instanceof Error, 'HighLevel answers again: refreshed')
  const after = (await world.integrations.findByClient('clinic'))!
  t.equal(after.refreshFailingSince, null, 'the episode ends with a good refresh')
  t.same((await eventsOf(world, 'connection.recovered')).map((e) => e.id), [`connection.recovered-${connected.id}-${connected.tokenVersion}`],
    'the CRM that heard expiring hears recovered')

  // A new episode is a new event (the token version moved on).
  world.sandbox.control.setFaults({ errorRate: 1, errorStatus: 503 }, SUNRISE)
  await attempt()
  await backdateEpisode(61)
  await attempt()
  await world.startInProcess()
  t.same((await eventsOf(world, 'connection.expiring')).map((e) => e.id),
    [`connection.expiring-${connected.id}-${connected.tokenVersion}`, `connection.expiring-${connected.id}-${after.tokenVersion}`], 'one per episode')
  await eventually('the CRM received both', async () => crm.received.filter((e) => e.event?.type === 'connection.expiring').length === 2 || undefined)
})

t.test('an agency another job found broken meanwhile is not refreshed again: its dead refresh token never goes back to HighLevel', async (t) => {
  const world = await createWorld(t)
  const seen = await agencyUnusedFor(world, 31)
  const runtime = createWorkerRuntime(world.config, createLogger({ level: 'silent' }))
  t.teardown(runtime.close)
  // What the first of two racing jobs leaves: HighLevel refused the refresh token, the row says so.
  await world.db.db.execute(sql`update ghl_integrations set status = 'needs_reauth' where id = ${seen.id}`)
  await t.rejects(runtime.tokenService.refreshAgency(seen), { code: 'needs_reauth' })
  t.equal(world.sandbox.control.stats().refreshes + world.sandbox.control.stats().refreshTokensAgedOut, 0, 'HighLevel was not asked')
})
