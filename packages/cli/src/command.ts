import type { CliContext } from './context.ts'
import type { Io } from './output.ts'

/** One `pnpm ghl <name>` command: its help, and what it does; it returns the exit code. */
export interface Command {
  name: string
  usage: string
  summary: string
  help: string[]
  run: (this: Command, argv: string[], ctx: CliContext, io: Io) => Promise<number>
}
