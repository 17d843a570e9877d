/**
 * `pnpm ghl <command>`: ops' tools beside the api and the worker, on the same configuration,
 * database and queues. Exit codes: 0 done, 1 failed (or not found), 2 a usage error (unknown
 * command, bad flag or value), 78 bad configuration (as every process).
 */
import { ConfigError } from '@ghl-connect/config'
import { badRequest, isAppError } from '@ghl-connect/errors'
import type { Command } from './command.ts'
import { clientsList, clientsShow } from './commands/clients.ts'
import { eventsReplay } from './commands/events.ts'
import { linksCreate } from './commands/links.ts'
import { smsRetryFailed } from './commands/sms.ts'
import { tokensCreate, tokensList, tokensRevoke } from './commands/tokens.ts'
import { CliContext } from './context.ts'
import { terminalIo, type Io } from './output.ts'

export const COMMANDS: Command[] = [linksCreate, clientsList, clientsShow, smsRetryFailed, eventsReplay, tokensCreate, tokensList, tokensRevoke]

export const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const

export interface MainOptions {
  env?: Record<string, string | undefined>
  /** The clock commands read (tests pin it). */
  now?: () => number
}

function overview (): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return ['Usage: pnpm ghl <command> [options] ', '', 'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '',
    'Every command takes --json (machine-readable output) and --help.', ''].join('\n')
}

const commandHelp = (c: Command) => [`Usage: pnpm ghl ${c.usage}`, '', `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`, ...c.help, ''].join('\n')

export async function main (argv: string[], terminal: Io = process, opts: MainOptions = {}): Promise<number> {
  const io = terminalIo(terminal)
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    ;(argv.length === 0 ? io.stderr : io.stdout).write(overview())
    return argv.length === 0 ? EXIT.usage : EXIT.ok
  }
  const ctx = new CliContext(opts.env ?? process.env, opts.now)
  let command: Command | undefined
  try {
    command = COMMANDS.find((c) => c.name === argv.slice(0, 2).join(' '))
    if (!command) {
      const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `))
      throw badRequest('unknown_command', group.length > 0
        ? `Unknown command "${argv.slice(0, 2).join(' ')}": ${argv[0]} has ${group.map((c) => c.name.split(' ')[1]).join(', ')}. See \`pnpm ghl --help\`.`
        : `Unknown command "${argv[0]}". Commands: ${[...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))].join(', ')}. See \`pnpm ghl --help\`.`)
    }
    const rest = argv.slice(2)
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(commandHelp(command))
      return EXIT.ok
    }
    return await command.run(rest, ctx, io)
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\n`)
      return EXIT.config
    }
    if (isAppError(err)) {
      io.stderr.write(`ghl: ${err.message}\n`)
      return err.statusCode === 400 ? EXIT.usage : EXIT.failed
    }
    io.stderr.write(`ghl: ${command?.name ?? argv[0]} failed: ${(err as Error).message}\n`)
    return EXIT.failed
  } finally {
    await ctx.close().catch(() => {})
  }
}
