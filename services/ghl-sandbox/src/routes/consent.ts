/**
 * GET /v2/oauth/chooselocation: HighLevel's consent page, one Allow per location and a Deny.
 * Stable ids and data-testid attributes let a browser test click through it; the auto-approve
 * switch lets scripted tests skip the page and get redirected with a code at once.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { escapeHtml } from '@ghl-connect/html'
import type { SandboxContext } from '../context.ts'
import type { SandboxLocation } from '../state.ts'

interface AuthorizeQuery {
  response_type?: string
  client_id?: string
  redirect_uri?: string
  scope?: string
  state?: string
  /** Sandbox only: which location auto-approve picks. */
  location?: string
}

type Checked = { ok: true, redirectUri: URL, redirectUriRaw: string, scopes: string[] } | { ok: false, title: string, message: string }

function check (ctx: SandboxContext, q: AuthorizeQuery): Checked {
  if (q.client_id !== ctx.settings.clientId) {
    return { ok: false, title: 'Unknown app', message: `No app with client_id "${q.client_id ?? ''}" exists. Check GHL_CLIENT_ID.` }
  }
  let redirectUri: URL
  try {
    redirectUri = new URL(q.redirect_uri ?? '')
    if (redirectUri.protocol !== 'http:' && redirectUri.protocol !== 'https:') throw new Error('scheme')
  } catch {
    return { ok: false, title: 'Invalid redirect URI', message: 'redirect_uri must be an absolute http(s) URL.' }
  }
  const registered = ctx.settings.redirectUris
  if (registered.length > 0 && !registered.includes(q.redirect_uri ?? '')) {
    return { ok: false, title: 'Redirect URI mismatch', message: `redirect_uri "${q.redirect_uri}" is not registered for this app (registered: ${registered.join(', ')}).` }
  }
  if (q.response_type !== undefined && q.response_type !== 'code') {
    return { ok: false, title: 'Unsupported response type', message: 'response_type must be "code".' }
  }
  const scopes = (q.scope ?? '').split(/[\s+]+/).filter(Boolean)
  return { ok: true, redirectUri, redirectUriRaw: q.redirect_uri ?? '', scopes: scopes.length > 0 ? scopes : ctx.settings.defaultScopes }
}

function page (title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}li{margin:.5rem 0}form{display:inline}</style>
</head><body>${body}</body></html>`
}

function errorPage (reply: FastifyReply, title: string, message: string): FastifyReply {
  return reply.code(400).type('text/html; charset=utf-8').send(page(title,
    `<h1 id="error-title" data-testid="error-title">${escapeHtml(title)}</h1><p id="error-message" data-testid="error-message">${escapeHtml(message)}</p>`))
}

function redirectWith (reply: FastifyReply, target: URL, params: Record<string, string | undefined>): FastifyReply {
  const url = new URL(target)
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v)
  return reply.redirect(url.toString(), 302)
}

export function consentRoutes (app: FastifyInstance, ctx: SandboxContext): void {
  const show = async (request: { query: unknown }, reply: FastifyReply) => {
    const q = request.query as AuthorizeQuery
    const checked = check(ctx, q)
    if (!checked.ok) return errorPage(reply, checked.title, checked.message)
    const locations = [...ctx.state.locations.values()]

    if (ctx.settings.autoApprove) {
      const wanted = q.location ?? ctx.settings.autoApproveLocationId ?? undefined
      const location = wanted ? ctx.state.locations.get(wanted) : locations[0]
      if (!location) return errorPage(reply, 'No such location', `Auto-approve found no location${wanted ? ` "${wanted}"` : ''} to approve.`)
      return approve(reply, location, checked, q.state)
    }

    const hidden = (extra = '') => [
      ['client_id', q.client_id], ['redirect_uri', q.redirect_uri], ['scope', checked.scopes.join(' ')], ['state', q.state],
    ].filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeHtml(v ?? '')}">`).join('') + extra
    const items = locations.map((l) => `<li data-testid="location-${escapeHtml(l.id)}"><span class="location-name">${escapeHtml(l.name)}</span>
 <form method="post" action="/v2/oauth/chooselocation">${hidden(`<input type="hidden" name="location_id" value="${escapeHtml(l.id)}">`)}
 <button type="submit" name="decision" value="allow" id="allow-${escapeHtml(l.id)}" data-testid="allow-${escapeHtml(l.id)}" data-location-id="${escapeHtml(l.id)}">Allow</button></form></li>`).join('\n')
    const scopeList = checked.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('')
    return reply.type('text/html; charset=utf-8').send(page('Choose a sub-account', `
<h1 id="consent-title">Choose a sub-account</h1>
<p>The app <strong id="client-id">${escapeHtml(ctx.settings.clientId)}</strong> asks for access to:</p>
<ul id="scopes">${scopeList}</ul>
<ul id="locations">${items || '<li id="no-locations">No sub-accounts to choose from.</li>'}</ul>
<form method="post" action="/v2/oauth/chooselocation">${hidden()}<button type="submit" name="decision" value="deny" id="deny" data-testid="deny">Deny</button></form>`))
  }

  const approve = (reply: FastifyReply, location: SandboxLocation, checked: Extract<Checked, { ok: true }>, state?: string) => {
    // The token call must repeat the redirect URI exactly as the app sent it here.
    const code = ctx.state.createCode(ctx.state.grantFor(location, checked.scopes), checked.redirectUriRaw)
    return redirectWith(reply, checked.redirectUri, { code, state })
  }

  app.get('/v2/oauth/chooselocation', show)
  // Older HighLevel docs show the path without /v2.
  app.get('/oauth/chooselocation', show)

  app.post('/v2/oauth/chooselocation', async (request, reply) => {
    const form = (request.body ?? {}) as AuthorizeQuery & { location_id?: string, decision?: string }
    const checked = check(ctx, form)
    if (!checked.ok) return errorPage(reply, checked.title, checked.message)
    if (form.decision !== 'allow') {
      return redirectWith(reply, checked.redirectUri, { error: 'access_denied', error_description: 'The user denied access', state: form.state })
    }
    const location = form.location_id ? ctx.state.locations.get(form.location_id) : undefined
    if (!location) return errorPage(reply, 'No such location', 'Choose one of the listed sub-accounts.')
    return approve(reply, location, checked, form.state)
  })
}

