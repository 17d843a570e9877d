/**
 * `tokens create|list|revoke`: a client's access tokens (packages/access-tokens), as the api's
 * /api/clients/:clientId/access-tokens routes make, list and revoke them. A token is printed once,
 * at creation; the list never shows one.
 */
import { ClientAccessTokens, DEFAULT_LIFETIME_SECONDS, SCOPES, type AccessTokenView } from '@ghl-connect/access-tokens'
import { ClientAccessTokensRepository } from '@ghl-connect/db'
import { badRequest } from '@ghl-connect/errors'
import { clientIdArg, durationMs, readArgs } from '../args.ts'
import type { Command } from '../command.ts'
import type { CliContext } from '../context.ts'
import { ago, fields, json, span, table, until } from '../output.ts'

const accessTokens = (ctx: CliContext) =>
  new ClientAccessTokens(new ClientAccessTokensRepository(ctx.database().db), ctx.config().accessTokens, ctx.now)

const asJson = (t: AccessTokenView) => ({
  id: t.id, clientId: t.clientId, name: t.name, scopes: t.scopes,
  createdAt: t.createdAt.toISOString(), expiresAt: t.expiresAt.toISOString(), lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
})

export const tokensCreate: Command = {
  name: 'tokens create',
  usage: 'tokens create <clientId> --name <who uses it> [--scopes <scope,scope>] [--expires-in <30d|12h>] [--json]',
  summary: "an access token for one client's assistant, widget or integration (as POST /api/clients/:clientId/access-tokens)",
  help: [
    'Prints the token once: only a keyed hash of it is kept. It acts for this client only, with its scopes.',
    '--name        who uses it, e.g. "support assistant": the list and the audit log lines show it.',
    `--scopes      comma-separated, from: ${SCOPES.join(', ')}.`,
    '              Default: every scope but proxy (the raw HighLevel passthrough).',
    `--expires-in  its lifetime (default ${span(DEFAULT_LIFETIME_SECONDS * 1000)}, at most CLIENT_TOKEN_MAX_LIFETIME_DAYS).`,
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, { name: { type: 'string' }, scopes: { type: 'string' }, 'expires-in': { type: 'string' } })
    const clientId = clientIdArg(this.name, positionals)
    if (values.name === undefined) throw badRequest('missing_name', `${this.name} needs --name: who uses the token, e.g. --name "support assistant".`)
    const expires = values['expires-in']
    const ms = expires === undefined ? undefined : durationMs(expires)
    if (ms === null) throw badRequest('invalid_flag_value', `--expires-in "${expires}" is not a duration: write it as 90m, 12h or 30d.`)
    const { token, accessToken } = await accessTokens(ctx).create({
      clientId,
      name: values.name,
      scopes: values.scopes?.split(',').map((s) => s.trim()).filter(Boolean),
      expiresInSeconds: ms === undefined ? undefined : Math.floor(ms / 1000),
    })
    io.stdout.write(values.json
      ? json({ ...asJson(accessToken), token })
      : fields([['client', clientId], ['name', accessToken.name], ['id', accessToken.id], ['scopes', accessToken.scopes.join(' ')],
          ['expires', `${accessToken.expiresAt.toISOString()} (${until(accessToken.expiresAt, ctx.now())})`],
          ['token', `${token}   (shown once: store it now)`]]))
    return 0
  },
}

export const tokensList: Command = {
  name: 'tokens list',
  usage: 'tokens list <clientId> [--json]',
  summary: "a client's access tokens, without their secrets",
  help: ['Every token of the client not revoked, oldest first; an expired one says so.'],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, {})
    const clientId = clientIdArg(this.name, positionals)
    const tokens = await accessTokens(ctx).list(clientId)
    if (values.json) {
      io.stdout.write(json(tokens.map(asJson)))
      return 0
    }
    const now = ctx.now()
    io.stdout.write(table(['ID', 'NAME', 'EXPIRES', 'LAST USED', 'SCOPES'], tokens.map((t) => [
      t.id, t.name, until(t.expiresAt, now), ago(t.lastUsedAt, now), t.scopes.join(' '),
    ]), `Client "${clientId}" has no access token.`))
    return 0
  },
}

export const tokensRevoke: Command = {
  name: 'tokens revoke',
  usage: 'tokens revoke <clientId> <tokenId> [--json]',
  summary: 'revoke an access token: refused by every api replica from its next request on',
  help: ['The token id is the one `tokens create` printed, or `tokens list` shows.'],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, {})
    if (positionals.length !== 2) throw badRequest('bad_arguments', `${this.name} takes a client id and a token id: \`pnpm ghl ${this.usage}\`.`)
    const clientId = clientIdArg(this.name, positionals.slice(0, 1))
    const id = positionals[1]!
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      throw badRequest('invalid_token_id', `"${id}" is not a token id; \`pnpm ghl tokens list ${clientId}\` shows them.`)
    }
    await accessTokens(ctx).revoke(clientId, id.toLowerCase())
    io.stdout.write(values.json ? json({ clientId, id: id.toLowerCase(), revoked: true }) : `Revoked access token ${id.toLowerCase()} of client "${clientId}".\n`)
    return 0
  },
}
