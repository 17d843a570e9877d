/**
 * The ops page at /admin/connections: counts by health, a filter, and a table of connections
 * (broken first). No script and nothing external: a GET form and links do the filtering. Every
 * value from the database is escaped; no token is ever read for it.
 */
import { escapeHtml } from '@ghl-connect/html'
import type { ConnectionHealth, ConnectionsFilter, ConnectionsPage, ConnectionSummary, MessageChannel, SmsStatus } from '@ghl-connect/db'
import { connectionHealths, messageChannels, smsStatuses } from '@ghl-connect/db'
import { ADMIN_PAGES } from '../security/admin-credentials.ts'
import { layout, type Page } from './layout.ts'

export const CONNECTIONS_PAGE_SIZE = 50

const LABELS: Record<ConnectionHealth, string> = {
  needs_reauth: 'Needs reauth',
  location_inactive: 'Location inactive',
  expiring: 'Expiring soon',
  active: 'Active',
  unclaimed: 'Unclaimed installs',
  disconnected: 'Revoked / disconnected',
}

/** The same, short enough for a row's badge. */
const BADGES: Record<ConnectionHealth, string> = {
  needs_reauth: 'Needs reauth',
  location_inactive: 'Location inactive',
  expiring: 'Expiring soon',
  active: 'Active',
  unclaimed: 'Unclaimed',
  disconnected: 'Disconnected',
}

export interface ConnectionsPageInput {
  counts: Record<ConnectionHealth, number>
  listed: ConnectionsPage
  filter: ConnectionsFilter
  page: number
  now: Date
  expiringWithinMs: number
  /** Every client's messages by channel: waiting and being sent now, ended in the last 24 hours. Absent: not shown. */
  messages?: Record<MessageChannel, Record<SmsStatus, number>>
}

const CHANNEL_LABELS: Record<MessageChannel, string> = { sms: 'SMS', email: 'Email' }

/** SMS and email side by side, one row each. */
function messagesTable (messages: Record<MessageChannel, Record<SmsStatus, number>>): string {
  const head = smsStatuses.map((s) => `<th class="num">${escapeHtml(s)}</th>`).join('')
  const rows = messageChannels.map((c) => `<tr id="messages-${c}"><td>${CHANNEL_LABELS[c]}</td>${smsStatuses.map((s) => `<td class="num">${messages[c][s]}</td>`).join('')}</tr>`).join('')
  return `<table id="messages"><thead><tr><th>Messages</th>${head}</tr></thead><tbody>${rows}</tbody></table>
<p class="hint">Queued and sending: now. Sent, failed and cancelled: ended in the last 24 hours. Every client.</p>`
}

export function connectionsPage (input: ConnectionsPageInput): Page {
  const { counts, listed, filter, page, now } = input
  const all = connectionHealths.reduce((sum, h) => sum + counts[h], 0)
  const selected = new Set(filter.health ?? [])
  const first = listed.connections.length ? (page - 1) * CONNECTIONS_PAGE_SIZE + 1 : 0
  const last = (page - 1) * CONNECTIONS_PAGE_SIZE + listed.connections.length
  const horizon = formatSpan(input.expiringWithinMs)

  const cards = [
    card('all', 'All', all, href({ search: filter.search }), selected.size === 0),
    ...connectionHealths.map((h) => card(h, LABELS[h], counts[h], href({ health: [h], search: filter.search }), selected.size === 1 && selected.has(h))),
  ].join('')

  const options = [`<option value="">All</option>`,
    ...connectionHealths.map((h) => `<option value="${h}"${selected.size === 1 && selected.has(h) ? ' selected' : ''}>${escapeHtml(LABELS[h])}</option>`)]
  // A filter of several healths (from a link or the CLI's URL) stays as it is when only the search changes.
  if (selected.size > 1) {
    const several = [...selected].join(',')
    options.push(`<option value="${escapeHtml(several)}" selected>${escapeHtml([...selected].map((h) => LABELS[h]).join(' + '))}</option>`)
  }

  const rows = listed.connections.map((c) => row(c, now)).join('')
  const empty = `<tr><td colspan="7" class="empty">No connection matches this filter.</td></tr>`
  const pager = [
    page > 1 ? `<a id="previous" href="${escapeHtml(href({ ...filter, page: page - 1 }))}">&larr; Previous</a>` : '',
    last < listed.total ? `<a id="next" href="${escapeHtml(href({ ...filter, page: page + 1 }))}">Next &rarr;</a>` : '',
  ].join(' ')

  const body = `
<style>
body{max-width:84rem;margin:1.5rem auto;font-size:.9rem}
header{display:flex;align-items:baseline;justify-content:space-between;gap:1rem;border-bottom:1px solid #e5e7eb;padding-bottom:.6rem}
header h1{margin:0}header nav a{color:#2563eb;text-decoration:none}header nav a:hover{text-decoration:underline}
.counts{display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:.6rem;margin:1rem 0}
.card{display:block;padding:.6rem .75rem;border:1px solid #e5e7eb;border-radius:.5rem;color:inherit;text-decoration:none;background:#fff}
.card:hover{border-color:#9ca3af}.card.selected{border-color:#2563eb;box-shadow:0 0 0 1px #2563eb}
.card .n{display:block;font-size:1.5rem;font-weight:600;font-variant-numeric:tabular-nums}.card .label{color:#4b5563;font-size:.8rem}
.card.needs_reauth .n{color:#b91c1c}.card.location_inactive .n{color:#b45309}.card.expiring .n{color:#c2410c}
.card.zero .n{color:#9ca3af}
form{display:flex;flex-wrap:wrap;align-items:end;gap:.75rem;margin:0 0 .5rem}
label{display:flex;flex-direction:column;gap:.2rem;font-size:.8rem;color:#4b5563}
select,input{font:inherit;padding:.35rem .5rem;border:1px solid #d1d5db;border-radius:.35rem;min-width:12rem}
form button{padding:.4rem 1rem}form a{color:#4b5563;padding:.4rem 0}
.showing{color:#4b5563;margin:.75rem 0 .4rem}
table{width:100%;border-collapse:collapse;table-layout:fixed}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top;overflow-wrap:anywhere}
th{white-space:nowrap;overflow-wrap:normal;font-size:.75rem;text-transform:uppercase;letter-spacing:.03em;color:#6b7280;background:#f9fafb}
tbody tr:hover{background:#f9fafb}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.8rem}
.sub{display:block;color:#6b7280;font-size:.78rem}
.badge{display:inline-block;padding:.1rem .45rem;border-radius:999px;font-size:.75rem;font-weight:600;white-space:nowrap}
.badge.needs_reauth{background:#fee2e2;color:#991b1b}.badge.location_inactive{background:#fef3c7;color:#92400e}
.badge.expiring{background:#ffedd5;color:#9a3412}.badge.active{background:#d1fae5;color:#065f46}
.badge.unclaimed{background:#e0e7ff;color:#3730a3}.badge.disconnected{background:#f3f4f6;color:#4b5563}
.num{text-align:right;padding-right:1.25rem;font-variant-numeric:tabular-nums}.late{color:#b91c1c}.muted{color:#9ca3af}
.error{display:block;max-height:3.2em;overflow:hidden}
.empty{text-align:center;color:#6b7280;padding:2rem}
.pager{display:flex;gap:1rem;justify-content:flex-end;margin:.6rem 0}
.hint{color:#6b7280;font-size:.8rem}
</style>
<header><h1>Connections</h1><nav><a id="queues-link" href="${ADMIN_PAGES.queues}">Queues (Bull Board) &rarr;</a></nav></header>
<section class="counts" id="counts">${cards}</section>
${input.messages ? messagesTable(input.messages) : ''}
<form method="get" action="${ADMIN_PAGES.connections}" id="filter">
<label>Status<select name="status" id="status">${options.join('')}</select></label>
<label>Client or location id<input type="search" name="q" id="q" maxlength="128" value="${escapeHtml(filter.search ?? '')}" placeholder="a part of an id"></label>
<button type="submit">Filter</button> <a href="${ADMIN_PAGES.connections}">Clear</a>
</form>
<p class="showing" id="showing">Showing ${first === 0 ? '0' : `${first}&ndash;${last}`} of ${listed.total}${describe(filter)}</p>
<table id="connections">
<colgroup><col style="width:14%"><col style="width:19%"><col style="width:11%"><col style="width:11%"><col style="width:10%"><col style="width:8%"><col></colgroup>
<thead><tr><th>Client</th><th>Location</th><th>Status</th><th>Expires in</th><th>Last refresh</th><th class="num">Failures</th><th>Last error</th></tr></thead>
<tbody>${rows || empty}</tbody>
</table>
<nav class="pager">${pager}</nav>
<p class="hint">Broken first: needs reauth (the client must connect again), location inactive (HighLevel paused the sub-account), then tokens expiring within ${escapeHtml(horizon)} (the sweep refreshes those; one still listed here is failing to refresh). Revoked / disconnected: the client's newest connection ended. As of ${escapeHtml(now.toISOString().replace('T', ' ').slice(0, 19))} UTC.</p>`
  const framed = layout('Connections · ghl-connect', body)
  // Like the other pages, plus the filter form, which submits to this page (GET).
  return { html: framed.html, csp: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'" }
}

function card (key: ConnectionHealth | 'all', label: string, n: number, link: string, isSelected: boolean): string {
  const classes = ['card', key, n === 0 ? 'zero' : '', isSelected ? 'selected' : ''].filter(Boolean).join(' ')
  return `<a class="${classes}" id="count-${key}" href="${escapeHtml(link)}"><span class="n">${n}</span><span class="label">${escapeHtml(label)}</span></a>`
}

function row (c: ConnectionSummary, now: Date): string {
  const client = c.clientId ? `<span class="mono">${escapeHtml(c.clientId)}</span>` : '<span class="muted">(unclaimed)</span>'
  const location = `${c.locationName ? escapeHtml(c.locationName) : '<span class="muted">(no name)</span>'}<span class="sub mono">${escapeHtml(c.locationId)}</span>`
  const untilExpiry = c.expiresAt.getTime() - now.getTime()
  const expires = c.isActive
    ? `<span class="${untilExpiry <= 0 ? 'late' : ''}" title="${c.expiresAt.toISOString()}">${untilExpiry <= 0 ? `expired ${formatSpan(-untilExpiry)} ago` : `in ${formatSpan(untilExpiry)}`}</span>`
    : '<span class="muted">no token</span>'
  const refreshed = c.lastRefreshedAt
    ? `<span title="${c.lastRefreshedAt.toISOString()}">${ago(c.lastRefreshedAt, now)}</span>`
    : '<span class="muted">never</span>'
  const error = c.lastErrorCode || c.lastError
    ? `<code>${escapeHtml(c.lastErrorCode ?? 'error')}</code>${c.lastErrorAt ? ` <span class="muted" title="${c.lastErrorAt.toISOString()}">${ago(c.lastErrorAt, now)}</span>` : ''}` +
      (c.lastError ? `<span class="sub error" title="${escapeHtml(c.lastError)}">${escapeHtml(c.lastError)}</span>` : '')
    : '<span class="muted">&ndash;</span>'
  return `<tr data-client-id="${escapeHtml(c.clientId)}" data-health="${c.health}">` +
    `<td>${client}</td><td>${location}</td><td><span class="badge ${c.health}">${BADGES[c.health]}</span></td>` +
    `<td>${expires}</td><td>${refreshed}</td><td class="num${c.refreshFailures > 0 ? ' late' : ''}">${c.refreshFailures}</td><td>${error}</td></tr>`
}

function describe (filter: ConnectionsFilter): string {
  const parts = [
    filter.health?.length ? filter.health.map((h) => LABELS[h].toLowerCase()).join(' or ') : '',
    filter.search ? `matching “${escapeHtml(filter.search)}”` : '',
  ].filter(Boolean)
  return parts.length ? ` (${parts.join(', ')})` : ''
}

/** This page's own URL with a filter; relative, so it works behind any host name. */
function href (f: ConnectionsFilter & { page?: number }): string {
  const params = new URLSearchParams()
  if (f.health?.length) params.set('status', f.health.join(','))
  if (f.search) params.set('q', f.search)
  if (f.page && f.page > 1) params.set('page', String(f.page))
  const query = params.toString()
  return query ? `${ADMIN_PAGES.connections}?${query}` : ADMIN_PAGES.connections
}

function ago (at: Date, now: Date): string {
  const ms = now.getTime() - at.getTime()
  return ms < 0 ? `in ${formatSpan(-ms)}` : `${formatSpan(ms)} ago`
}

/** 40 s, 12 min, 3 h 5 min, 2 d 4 h: what a person reads at a glance. */
function formatSpan (ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`
}
