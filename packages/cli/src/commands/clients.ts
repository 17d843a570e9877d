/** `clients list` and `clients show`: which clients are broken or about to expire, and what happened to one. Never a token. */
import { ConnectionsOverviewRepository, DEFAULT_EXPIRING_WITHIN_MS, type ConnectionOverview } from '@ghl-connect/db'
import { notFound } from '@ghl-connect/errors'
import { clientIdArg, noPositionals, oneOf, readArgs } from '../args.ts'
import type { Command } from '../command.ts'
import { ago, fields, json, span, table, until } from '../output.ts'

const LISTED = ['needs_reauth', 'expiring', 'location_inactive'] as const
/** `clients show` counts the SMS asked for in this window. */
const RECENT_SMS_MS = 86_400_000

const asJson = (c: ConnectionOverview) => ({
  clientId: c.clientId,
  integrationId: c.integrationId,
  locationId: c.locationId,
  locationName: c.locationName,
  companyId: c.companyId,
  status: c.status,
  health: c.health,
  active: c.isActive,
  expiresAt: c.expiresAt.toISOString(),
  connectedAt: c.connectedAt.toISOString(),
  lastRefreshedAt: c.lastRefreshedAt?.toISOString() ?? null,
  refreshFailures: c.refreshFailures,
  lastError: c.lastError,
  scopes: c.scopes,
})

export const clientsList: Command = {
  name: 'clients list',
  usage: 'clients list [--status needs_reauth|expiring|location_inactive] [--json]',
  summary: 'connected clients, broken ones first',
  help: [
    'Every client with a connection, sorted needs_reauth, location_inactive, expiring, then the rest.',
    '--status needs_reauth       the client must connect again (its refresh token was refused)',
    '--status location_inactive  HighLevel paused the sub-account; it resumes by itself',
    `--status expiring           active, with the token expiring within ${span(DEFAULT_EXPIRING_WITHIN_MS)} (or already expired):`,
    '                            the sweep should refresh these; one that stays here is late',
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, { status: { type: 'string' } })
    noPositionals(this.name, positionals)
    const health = values.status === undefined ? undefined : oneOf('status', values.status, LISTED)
    const now = new Date(ctx.now())
    const overview = new ConnectionsOverviewRepository(ctx.database().db)
    const rows = await overview.list({ health, now, limit: 100_000 })
    if (values.json) {
      io.stdout.write(json(rows.map(asJson)))
      return 0
    }
    io.stdout.write(table(['CLIENT', 'LOCATION', 'STATUS', 'EXPIRES', 'LAST REFRESH', 'FAILURES', 'LAST ERROR'], rows.map((c) => [
      c.clientId,
      c.locationName ? `${c.locationName} (${c.locationId})` : c.locationId,
      c.health,
      until(c.expiresAt, now.getTime()),
      ago(c.lastRefreshedAt, now.getTime()),
      String(c.refreshFailures),
      oneLine(c.lastError),
    ]), health ? `No client is ${health}.` : 'No client has connected yet.'))
    if (!health && rows.length > 0) {
      const counts = await overview.countByHealth({ now })
      io.stdout.write(`\n${rows.length} clients: ${Object.entries(counts).map(([h, n]) => `${n} ${h}`).join(', ')}.\n`)
    }
    return 0
  },
}

export const clientsShow: Command = {
  name: 'clients show',
  usage: 'clients show <clientId> [--json]',
  summary: "one client's connection, refreshes, last error and recent SMS",
  help: [
    "The client's active connection (or its last one, if it ended), its refresh history and failures,",
    `and its SMS of the last ${span(RECENT_SMS_MS)} by status. Never a token.`,
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, {})
    const clientId = clientIdArg(this.name, positionals)
    const now = ctx.now()
    const overview = new ConnectionsOverviewRepository(ctx.database().db)
    const connection = await overview.findClient(clientId, { now: new Date(now) })
    if (!connection) throw notFound('client_not_found', `Client "${clientId}" has never connected GoHighLevel: create a connect link with \`pnpm ghl links create ${clientId}\`.`)
    const sms = await overview.smsCountsByStatus(clientId, new Date(now - RECENT_SMS_MS))
    if (values.json) {
      io.stdout.write(json({ ...asJson(connection), sms: { since: new Date(now - RECENT_SMS_MS).toISOString(), ...sms } }))
      return 0
    }
    const c = connection
    io.stdout.write(fields([
      ['client', c.clientId],
      ['location', c.locationName ? `${c.locationName} (${c.locationId})` : c.locationId],
      ['company', c.companyId ?? '-'],
      ['status', c.isActive ? `${c.status}${c.health !== c.status ? ` (${c.health})` : ''}` : `${c.status} (ended: no active connection)`],
      ['connected', `${c.connectedAt.toISOString()} (${ago(c.connectedAt, now)})`],
      ['token expires', `${c.expiresAt.toISOString()} (${until(c.expiresAt, now)})`],
      ['last refresh', c.lastRefreshedAt ? `${c.lastRefreshedAt.toISOString()} (${ago(c.lastRefreshedAt, now)})` : 'never'],
      ['refresh failures', String(c.refreshFailures)],
      ['last error', oneLine(c.lastError) || '-'],
      ['scopes', c.scopes.join(' ') || '-'],
      [`sms, last ${span(RECENT_SMS_MS)}`, Object.entries(sms).map(([status, n]) => `${status} ${n}`).join(', ')],
    ]))
    return 0
  },
}

const oneLine = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').slice(0, 80)
