/**
 * The pages of an agency install: pick which sub-account is the client (from a connect link), or
 * the claim codes of every sub-account (from the marketplace). Claim codes are shown here only.
 */
import { escapeHtml } from '@ghl-connect/html'
import type { AgencyInstall } from '../oauth/agency-installs.ts'
import { layout, type Page } from './layout.ts'

const nameOf = (l: AgencyInstall['locations'][number]) => l.integration.locationName ?? l.integration.locationId

function claimList (install: AgencyInstall): string {
  const rows = install.locations.filter((l) => l.claimCode).map((l) => `<li data-location-id="${escapeHtml(l.integration.locationId)}">${escapeHtml(nameOf(l))}: <code class="claim-code">${escapeHtml(l.claimCode!)}</code></li>`)
  return rows.length > 0 ? `<ul id="claim-codes">${rows.join('')}</ul>` : ''
}

/** After an agency approved from a client's link: one button per sub-account; the others stay claimable. */
export function agencyPickPage (input: { clientId: string, install: AgencyInstall, pickToken: string, pickUrl: string }): Page {
  const offered = input.install.locations.filter((l) => l.claimCode)
  const buttons = offered.map((l) => `<li><form method="post" action="${escapeHtml(input.pickUrl)}">
<input type="hidden" name="pick" value="${escapeHtml(input.pickToken)}"><input type="hidden" name="locationId" value="${escapeHtml(l.integration.locationId)}">
<button type="submit" id="pick-${escapeHtml(l.integration.locationId)}" data-location-id="${escapeHtml(l.integration.locationId)}">${escapeHtml(nameOf(l))}</button></form></li>`).join('\n')
  const body = offered.length === 0
    ? `<h1 class="bad" id="result">No sub-account to connect</h1><p>The agency approved the app, but it is installed on no sub-account that is free to connect. Install it on the sub-account in HighLevel, then start again from your CRM.</p>`
    : `<h1 id="result">Which sub-account is this account?</h1>
<p>Your agency approved the app for ${offered.length} sub-account${offered.length === 1 ? '' : 's'}. Pick the one to connect; the others stay ready for your CRM to connect to other accounts.</p>
<ul id="locations" style="list-style:none;padding:0;display:grid;gap:.5rem">${buttons}</ul>
<details><summary>Claim codes for the other sub-accounts</summary><p><small>Shown only here, valid 24 hours: your CRM asks for one to connect a sub-account to another account.</small></p>${claimList(input.install)}</details>
<p><small>This choice expires in 10 minutes.</small></p>`
  return layout('Choose the sub-account', body, undefined, { formsToSelf: true })
}

/** After an agency installed from the marketplace: every sub-account waits for the CRM, each with its code. */
export function agencyInstalledPage (install: AgencyInstall): Page {
  return layout('Return to your CRM', `
<h1 id="result">Return to your CRM to finish connecting</h1>
<p>HighLevel installed the app for ${install.locations.length} sub-account${install.locations.length === 1 ? '' : 's'} of your agency. In your CRM, connect each account with its sub-account's claim code:</p>
${claimList(install)}
<p><small>Each code works once, for 24 hours, and is shown only on this page: note them now.</small></p>`)
}
