/** The callback's success pages: connected (tell the opener, close or return), installed but unclaimed, or re-installed for its holder. */
import { escapeHtml, scriptJson } from '@ghl-connect/html'
import { layout, type Page } from './layout.ts'

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

/** After a marketplace install: the one-time claim code, shown here only, that proves to the CRM who installed. */
export function pendingClaimPage (locationName: string, claimCode: string): Page {
  return layout('Return to your CRM', `
<h1 id="result">Return to your CRM to finish connecting</h1>
<p>HighLevel installed the app for <strong>${escapeHtml(locationName)}</strong>. Open your CRM's settings and finish connecting GoHighLevel there with this claim code:</p>
<p class="status"><code id="claim-code" style="font-size:1.4rem;letter-spacing:.1em">${escapeHtml(claimCode)}</code></p>
<p><small>The code works once, for 24 hours; it is shown only on this page, so note it now. Without it the installation cannot be attached to your account: install the app again for a new code.</small></p>`)
}

/** After a marketplace re-install of a location an account here already holds: nothing to claim, its connection was renewed. */
export function reinstalledPage (locationName: string): Page {
  return layout('GoHighLevel still connected', `
<h1 class="ok" id="result">GoHighLevel is still connected for ${escapeHtml(locationName)}</h1>
<p>HighLevel installed the app again for a sub-account that is already connected to an account in your CRM, so that connection was renewed and nothing else changed. You can close this window.</p>`)
}
