/**
 * `clients list` and `clients show`: which clients are broken or about to expire, and what
 * happened to one. The same overview the /admin/connections page reads (packages/db), with the
 * same horizon for "expiring" (the token sweep's). Never a token.
 */
import { ConnectionsOverviewRepository, SmsOverviewRepository, type ConnectionHealth, type ConnectionSummary } from '@ghl-connect/db'
import { notFound } from '@ghl-connect/errors'
import { clientIdArg, noPositionals, oneOf, readArgs } from '../args.ts'
import type { Command } from '../command.ts'
import type { CliContext } from '../context.ts'
import { ago, fields, json, span, table, until } from '../output.ts'

/** What `--status` takes: the brief's three broken states first, then the rest of the overview's healths. */
const STATUSES = ['needs_reauth', 'expiring', 'location_inactive', 'active', 'disconnected', 'unclaimed'] as const satisfies readonly ConnectionHealth[]
/** Without --status: every live connection (not the ended ones, nor installs waiting for a claim). */
const CONNECTED: ConnectionHealth[] = ['needs_reauth', 'location_inactive', 'expiring', 'active']
/** `clients show` counts the SMS asked for in this window. */
const RECENT_SMS_MS = 86_400_000

const healthOptions = (ctx: CliContext) => ({ expiringWithinMs: ctx.config().tokens.sweepHorizonMs, now: new Date(ctx.now()) })

const asJson = (c: ConnectionSummary) => ({
  clientId: c.clientId,
  integrationId: c.integrationId,
  locationId: c.locationId,
  locationName: c.locationName,
  status: c.status,
  health: c.health,
  active: c.isActive,
  expiresAt: c.expiresAt.toISOString(),
  connectedAt: c.connectedAt.toISOString(),
  lastRefreshedAt: c.lastRefreshedAt?.toISOString() ?? null,
  refreshFailures: c.refreshFailures,
  lastErrorCode: c.lastErrorCode,
  lastError: c.lastError,
  lastErrorAt: c.lastErrorAt?.toISOString() ?? null,
})

const location = (c: ConnectionSummary) => (c.locationName ? `${c.locationName} (${c.locationId})` : c.locationId)
const oneLine = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').slice(0, 80)

export const clientsList: Command = {
  name: 'clients list',
  usage: `clients list [--status ${STATUSES.join('|')}] [--json]`,
  summary: 'connected clients, broken ones first',
  help: [
    'Every client with a live connection, sorted needs_reauth, location_inactive, expiring (soonest first), then active.',
    '--status needs_reauth       the client must connect again (its refresh token was refused)',
    '--status location_inactive  HighLevel paused the sub-account; it resumes by itself',
    '--status expiring           active, with the token expiring within the sweep\'s horizon',
    '                            (TOKEN_SWEEP_HORIZON_SECONDS, default 1h) or already expired: the sweep',
    '                            should have refreshed it, so one that stays here is late',
    '--status active, disconnected, unclaimed  the rest of the overview (as on /admin/connections)',
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, { status: { type: 'string' } })
    noPositionals(this.name, positionals)
    const health = values.status === undefined ? undefined : oneOf('status', values.status, STATUSES)
    const opts = healthOptions(ctx)
    const overview = new ConnectionsOverviewRepository(ctx.database().db)
    const { connections } = await overview.list({ ...opts, health: health ? [health] : CONNECTED, limit: 100_000 })
    if (values.json) {
      io.stdout.write(json(connections.map(asJson)))
      return 0
    }
    const now = opts.now.getTime()
    io.stdout.write(table(['CLIENT', 'LOCATION', 'STATUS', 'EXPIRES', 'LAST REFRESH', 'FAILURES', 'LAST ERROR'], connections.map((c) => [
      c.clientId || '-',
      location(c),
      c.health,
      until(c.expiresAt, now),
      ago(c.lastRefreshedAt, now),
      String(c.refreshFailures),
      oneLine(c.lastError),
    ]), health ? `No client is ${health}.` : 'No client has connected yet.'))
    if (!health && connections.length > 0) {
      const counts = await overview.countByHealth(opts)
      io.stdout.write(`\n${connections.length} connections: ${CONNECTED.map((h) => `${counts[h]} ${h}`).join(', ')}.\n`)
    }
    return 0
  },
}

export const clientsShow: Command = {
  name: 'clients show',
  usage: 'clients show <clientId> [--json]',
  summary: "one client's connection, refreshes, last error and recent SMS",
  help: [
    "The client's active connection (or its last one, if it ended), its last refresh and failed refreshes,",
    `and its SMS of the last ${span(RECENT_SMS_MS)} by status. Never a token.`,
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, {})
    const clientId = clientIdArg(this.name, positionals)
    const opts = healthOptions(ctx)
    const now = opts.now.getTime()
    const c = await new ConnectionsOverviewRepository(ctx.database().db).findClient(clientId, opts)
    if (!c) throw notFound('client_not_found', `Client "${clientId}" has never connected GoHighLevel: create a connect link with \`pnpm ghl links create ${clientId}\`.`)
    const since = new Date(now - RECENT_SMS_MS)
    const sms = await new SmsOverviewRepository(ctx.database().db).countsByStatus(clientId, since)
    if (values.json) {
      io.stdout.write(json({ ...asJson(c), sms: { since: since.toISOString(), ...sms } }))
      return 0
    }
    const at = (d: Date | null, rel: (d: Date) => string) => (d ? `${d.toISOString()} (${rel(d)})` : 'never')
    io.stdout.write(fields([
      ['client', c.clientId],
      ['location', location(c)],
      ['status', c.isActive ? `${c.status}${c.health !== c.status ? ` (${c.health})` : ''}` : `${c.status} (disconnected: no active connection)`],
      ['connected', at(c.connectedAt, (d) => ago(d, now))],
      ['token expires', at(c.expiresAt, (d) => until(d, now))],
      ['last refresh', at(c.lastRefreshedAt, (d) => ago(d, now))],
      ['refresh failures', `${c.refreshFailures}${c.refreshFailures > 0 ? ' since the last good refresh' : ''}`],
      ['last error', c.lastError ? `${c.lastErrorCode ? `${c.lastErrorCode}: ` : ''}${oneLine(c.lastError)}${c.lastErrorAt ? ` (${ago(c.lastErrorAt, now)})` : ''}` : '-'],
      [`sms, last ${span(RECENT_SMS_MS)}`, Object.entries(sms).map(([status, n]) => `${status} ${n}`).join(', ')],
    ]))
    return 0
  },
}
