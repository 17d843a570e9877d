/**
 * What every HTML page a person sees shares: the frame, a per-response CSP nonce for its inline
 * script, and the headers it is sent with. Every value in a page is escaped (@ghl-connect/html).
 */
import { randomBytes } from 'node:crypto'
import type { FastifyReply } from 'fastify'
import { escapeHtml } from '@ghl-connect/html'

export interface Page { html: string, csp: string }

/** `formsToSelf`: the page posts a form back to the api (no page posts anywhere else). */
export function layout (title: string, body: string, script?: string, { formsToSelf = false } = {}): Page {
  const nonce = randomBytes(16).toString('base64')
  return {
    csp: `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action ${formsToSelf ? "'self'" : "'none'"}; base-uri 'none'`,
    html: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.3rem}.ok{color:#047857}.bad{color:#b91c1c}button,a.button{font:inherit;padding:.6rem 1.1rem;border-radius:.4rem;border:0;background:#2563eb;color:#fff;cursor:pointer;text-decoration:none}
.status{margin:1rem 0;padding:.8rem;border-radius:.4rem;background:#f3f4f6}</style></head>
<body>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`,
  }
}

/**
 * Sends a page with the headers every page gets: its CSP, no caching, no referrer. Only our own
 * pages and the CRM (CRM_ORIGIN, which may embed the connect widget) may frame a page: any other
 * site could overlay it and trick a click (clickjacking).
 */
export function sendPage (reply: FastifyReply, status: number, page: Page) {
  const frameAncestors = `frame-ancestors 'self' ${reply.server.runtime.config.http.crmOrigin}`
  return reply.status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', `${page.csp}; ${frameAncestors}`)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(page.html)
}
