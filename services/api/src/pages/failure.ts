/** The page for a failure in a browser route, naming its stable error code for support and tests. */
import { escapeHtml } from '@ghl-connect/html'
import { layout, type Page } from './layout.ts'

export function failurePage (title: string, explanation: string, code: string): Page {
  return layout(title, `
<h1 class="bad" id="result">${escapeHtml(title)}</h1>
<p id="explanation">${escapeHtml(explanation)}</p>
<p><small>Error code: <code id="code">${escapeHtml(code)}</code></small></p>`)
}
