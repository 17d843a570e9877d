/**
 * The few HTML pages a person sees: the result of a connect attempt and the /connect widget.
 * Every value is escaped; inline scripts run under a per-response CSP nonce.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyReply } from 'fastify'

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** JSON inside a <script>: `</script>` and friends cannot break out. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')

export interface Page { html: string, csp: string }

function layout (title: string, body: string, script?: string): Page {
  const nonce = randomBytes(16).toString('base64')
  return {
    csp: `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action 'none'; frame-ancestors *; base-uri 'none'`,
    html: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.3rem}.ok{color:#047857}.bad{color:#b91c1c}button,a.button{font:inherit;padding:.6rem 1.1rem;border-radius:.4rem;border:0;background:#2563eb;color:#fff;cursor:pointer;text-decoration:none}
.status{margin:1rem 0;padding:.8rem;border-radius:.4rem;background:#f3f4f6}</style></head>
<body>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`,
  }
}

export interface ConnectedPageInput {
  clientId: string
  locationName: string
  /** Where the popup's opener may be: the CRM and our own /connect page. */
  targetOrigins: string[]
  returnUrl?: string
}

export function connectedPage (input: ConnectedPageInput): Page {
  const message = { type: 'ghl-connect', status: 'connected', clientId: input.clientId, locationName: input.locationName }
  return layout('GoHighLevel connected', `
<h1 class="ok" id="result">GoHighLevel connected to ${escapeHtml(input.locationName)}</h1>
<p>You can close this window and return to your CRM.</p>`, `
(function () {
  var message = ${scriptJson(message)};
  var origins = ${scriptJson(input.targetOrigins)};
  var returnUrl = ${scriptJson(input.returnUrl ?? null)};
  if (window.opener && !window.opener.closed) {
    // postMessage drops a target origin that does not match the opener, so naming each allowed one is safe.
    origins.forEach(function (origin) { try { window.opener.postMessage(message, origin) } catch (e) {} });
    setTimeout(function () { window.close() }, 400);
  } else if (returnUrl) {
    window.location.replace(returnUrl);
  }
})();`)
}

export function pendingClaimPage (locationName: string): Page {
  return layout('Return to your CRM', `
<h1 id="result">Return to your CRM to finish connecting</h1>
<p>HighLevel installed the app for <strong>${escapeHtml(locationName)}</strong>. Open your CRM's settings and finish connecting GoHighLevel there; it will pick up this installation.</p>`)
}

export function failurePage (title: string, explanation: string, code: string): Page {
  return layout(title, `
<h1 class="bad" id="result">${escapeHtml(title)}</h1>
<p id="explanation">${escapeHtml(explanation)}</p>
<p><small>Error code: <code id="code">${escapeHtml(code)}</code></small></p>`)
}

export interface ConnectWidgetInput {
  clientId: string
  connected: { locationName: string, status: string } | null
  authorizeUrl: string
  appOrigin: string
}

export function connectWidget (input: ConnectWidgetInput): Page {
  const status = input.connected
    ? `Connected to ${input.connected.locationName}${input.connected.status === 'active' ? '' : ` (${input.connected.status.replace('_', ' ')})`}`
    : 'Not connected'
  return layout('Connect GoHighLevel', `
<h1>GoHighLevel</h1>
<div class="status" id="status" data-connected="${input.connected ? 'true' : 'false'}">${escapeHtml(status)}</div>
<button id="connect" type="button">${input.connected ? 'Reconnect GoHighLevel' : 'Connect GoHighLevel'}</button>
<p><small>A window opens where you choose your HighLevel sub-account. <a id="connect-link" href="${escapeHtml(input.authorizeUrl)}" target="_blank" rel="opener">Open it in a tab instead</a>.</small></p>`, `
(function () {
  var authorizeUrl = ${scriptJson(input.authorizeUrl)};
  var appOrigin = ${scriptJson(input.appOrigin)};
  var clientId = ${scriptJson(input.clientId)};
  var statusEl = document.getElementById('status');
  document.getElementById('connect').addEventListener('click', function () {
    var popup = window.open(authorizeUrl, 'ghl-connect', 'width=600,height=720');
    if (!popup) window.location.href = authorizeUrl;
  });
  window.addEventListener('message', function (event) {
    // Only our own callback page may change what this page says.
    if (event.origin !== appOrigin) return;
    var data = event.data || {};
    if (data.type !== 'ghl-connect' || data.clientId !== clientId) return;
    statusEl.textContent = 'Connected to ' + data.locationName;
    statusEl.setAttribute('data-connected', 'true');
  });
})();`)
}

/** Sends a page with the headers every page gets: its CSP, no caching, no referrer. */
export function sendPage (reply: FastifyReply, status: number, page: Page) {
  return reply.status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', page.csp)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(page.html)
}
