/** The /connect widget: the "Connect GoHighLevel" button and the client's connection status. */
import { escapeHtml, scriptJson } from '@ghl-connect/html'
import { layout, type Page } from './layout.ts'

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
