#!/usr/bin/env node
// Prints a .env file as shell `export` lines, parsed by Node's dotenv parser (the one behind
// `node --env-file`) instead of the shell: `source .env` runs the second word of an unquoted value
// with spaces (GHL_SCOPES=a b c) as a command. A variable already set in the environment wins, as
// with `node --env-file`, so compose's addresses and a one-off `PORT=4000 pnpm start` are kept.
// Use: eval "$(node scripts/env-file.mjs .env)"
import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'

const file = process.argv[2] ?? '.env'
const quote = (value) => `'${value.replaceAll("'", "'\\''")}'`
for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || process.env[name]?.trim()) continue
  console.log(`export ${name}=${quote(value)}`)
}
