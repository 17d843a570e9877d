/**
 * Reading a command's arguments: unknown flags, missing arguments and bad values are the
 * operator's to fix, so each is a 400 AppError with a sentence, which main turns into exit 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { badRequest } from '@ghl-connect/errors'
import { CLIENT_ID_PATTERN, MAX_CLIENT_ID_LENGTH } from '@ghl-connect/connect-links'

type Options = NonNullable<ParseArgsConfig['options']>

export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { json?: boolean, help?: boolean }
  positionals: string[]
}

/** Every command takes --json and --help besides its own flags. */
export function readArgs<O extends Options> (command: string, argv: string[], options: O): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
    return { values: values as Parsed<O>['values'], positionals }
  } catch (err) {
    // node's messages name the flag ("Unknown option '--x'"); add where to look.
    throw badRequest('bad_arguments', `${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}. See \`pnpm ghl ${command} --help\`.`)
  }
}

export function clientIdArg (command: string, positionals: string[]): string {
  if (positionals.length === 0) throw badRequest('missing_client_id', `${command} needs a client id: \`pnpm ghl ${command} <clientId>\`.`)
  if (positionals.length > 1) throw badRequest('bad_arguments', `${command} takes one client id; got ${positionals.length} arguments.`)
  const clientId = positionals[0]!
  if (clientId.length > MAX_CLIENT_ID_LENGTH || !new RegExp(CLIENT_ID_PATTERN).test(clientId)) {
    throw badRequest('invalid_client_id', `"${clientId}" is not a client id: up to ${MAX_CLIENT_ID_LENGTH} letters, digits and . _ : @ + = | ~ -, no spaces or slashes.`)
  }
  return clientId
}

export function noPositionals (command: string, positionals: string[]): void {
  if (positionals.length > 0) throw badRequest('bad_arguments', `${command} takes no argument "${positionals[0]}". See \`pnpm ghl ${command} --help\`.`)
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "10m", "24h", "7d" -> milliseconds; null when the text is not such a duration. */
export function durationMs (text: string): number | null {
  const match = /^(\d+)\s*([smhd])$/.exec(text.trim())
  if (!match) return null
  return Number(match[1]) * UNIT_MS[match[2]!]!
}

/** A point in time: an ISO 8601 date/time ("2026-11-29T08:00:00Z", "2026-11-29"), or a duration back from now ("24h"). */
export function sinceArg (flag: string, text: string, now = Date.now()): Date {
  const back = durationMs(text)
  if (back !== null) return new Date(now - back)
  const at = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? new Date(text.trim()) : null
  if (!at || Number.isNaN(at.getTime())) {
    throw badRequest('invalid_time', `--${flag} "${text}" is neither an ISO time (2026-11-29T08:00:00Z) nor a duration back from now (90m, 24h, 7d).`)
  }
  return at
}

export function oneOf<T extends string> (flag: string, text: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T
  throw badRequest('invalid_flag_value', `--${flag} must be one of ${allowed.join(', ')}; got "${text}".`)
}
