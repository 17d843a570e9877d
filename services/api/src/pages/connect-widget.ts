/** The /connect widget: the "Connect GoHighLevel" button and the client's connection status. */
import { escapeHtml, scriptJson } from '@ghl-connect/html'
import { layout, type Page } from './layout.ts'

export interface ConnectWidgetInput {
  clientId: string
  connected: { locationName: string, status: string } | null
  /** Null once this page link has connected: a page link connects once. */
  authorizeUrl: string | null
  appOrigin: string
}

const SPENT = 'This page link has already connected GoHighLevel; each page link connects once. To connect again, ask your CRM for a new "Connect GoHighLevel" link.'

export function connectWidget (input: ConnectWidgetInput): Page {
  const status = input.connected
    ? `Connected to ${input.connected.locationName}${input.connected.status === 'active' ? '' : ` (${input.connected.status.replace('_', ' ')})`}`
    : 'Not connected'
  const statusLine = `<h1>GoHighLevel</h1>
<div class="status" id="status" data-connected="${input.connected ? 'true' : 'false'}">${escapeHtml(status)}</div>`
  if (input.authorizeUrl === null) {
    return layout('Connect GoHighLevel', `${statusLine}
<p id="link-spent">${escapeHtml(SPENT)}</p>`)
  }
  return layout('Connect GoHighLevel', `${statusLine}
<button id="connect" type="button">${input.connected ? 'Reconnect GoHighLevel' : 'Connect GoHighLevel'}</button>
<p id="hint"><small>A window opens where you choose your HighLevel sub-account. <a id="connect-link" href="${escapeHtml(input.authorizeUrl)}" target="_blank" rel="opener">Open it in a tab instead</a>.</small></p>`, `
(function () {
  var authorizeUrl = ${scriptJson(input.authorizeUrl)};
  var appOrigin = ${scriptJson(input.appOrigin)};
  var clientId = ${scriptJson(input.clientId)};
  var spent = ${scriptJson(SPENT)};
  var statusEl = document.getElementById('status');
  var button = document.getElementById('connect');
  button.addEventListener('click', function () {
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
    // This page link is spent now: the button would only be refused.
    button.remove();
    document.getElementById('hint').textContent = spent;
  });
})();`)
}
