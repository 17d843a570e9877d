#!/usr/bin/env node
/**
 * The `pnpm ghl` entry. Reads `.env` from the working directory (pnpm runs root scripts at the
 * repository root) the way Node does, without overriding variables already set: the CLI then sees
 * the configuration the api and the worker were started with. Before it, what a running
 * `scripts/start.sh` was given beyond .env (`PORT=3100 pnpm start`: its port, APP_URL, the
 * databases it started), which it keeps in .data/stack.env while it runs.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { main } from './main.ts'

for (const file of [join(process.env.GHL_CONNECT_DATA_DIR ?? '.data', 'stack.env'), '.env']) {
  if (existsSync(file)) process.loadEnvFile(file)
}
process.exitCode = await main(process.argv.slice(2))
