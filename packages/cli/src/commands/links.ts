/** `links create`: the same signed, single-use connect link the api's POST /connect-links mints. */
import { badRequest } from '@ghl-connect/errors'
import { ConnectLinks, DEFAULT_LINK_TTL_SECONDS, MAX_LINK_TTL_SECONDS } from '@ghl-connect/connect-links'
import { clientIdArg, durationMs, readArgs } from '../args.ts'
import type { Command } from '../command.ts'
import { fields, json, span } from '../output.ts'

const MIN_LINK_TTL_SECONDS = 60

export const linksCreate: Command = {
  name: 'links create',
  usage: 'links create <clientId> [--return-url <url on CRM_ORIGIN>] [--expires-in <10m|2h|7d>] [--json]',
  summary: 'a signed, single-use connect link for a client (as POST /api/ghl-oauth/connect-links)',
  help: [
    'Prints the authorize link (open it in a popup, or send it) and the connect page link.',
    `--expires-in  how long the link works: 60s to 7d (default ${span(DEFAULT_LINK_TTL_SECONDS * 1000)}).`,
    '--return-url  where the browser goes after connecting without a popup; must be on CRM_ORIGIN.',
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, { 'return-url': { type: 'string' }, 'expires-in': { type: 'string' } })
    const clientId = clientIdArg(this.name, positionals)
    const ttlSeconds = values['expires-in'] === undefined ? undefined : ttlOf(values['expires-in'])
    const { connectLinks: c } = ctx.config()
    const links = new ConnectLinks(c.secret, c.appUrl, c.crmOrigin)
    const input = { clientId, returnUrl: values['return-url'], ttlSeconds }
    const now = ctx.now()
    const link = links.create('authorize', input, now)
    const page = links.create('connect', input, now)
    const answer = { clientId, url: link.url, connectPageUrl: page.url, expiresAt: link.expiresAt.toISOString() }
    io.stdout.write(values.json
      ? json(answer)
      : fields([['client', clientId], ['link', answer.url], ['connect page', answer.connectPageUrl],
          ['expires', `${answer.expiresAt} (in ${span((ttlSeconds ?? DEFAULT_LINK_TTL_SECONDS) * 1000)}); single-use`]]))
    return 0
  },
}

function ttlOf (text: string): number {
  const ms = durationMs(text) ?? (/^\d+$/.test(text) ? Number(text) * 1000 : null)
  if (ms === null) throw badRequest('invalid_flag_value', `--expires-in "${text}" is not a duration: write it as 90s, 10m, 2h or 7d.`)
  const seconds = Math.floor(ms / 1000)
  if (seconds < MIN_LINK_TTL_SECONDS || seconds > MAX_LINK_TTL_SECONDS) {
    throw badRequest('invalid_flag_value', `--expires-in must be between 60s and 7d; got ${text}.`)
  }
  return seconds
}
