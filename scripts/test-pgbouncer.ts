/**
 * The pgbouncer test target: every repository and the intake/send path, with each test file's
 * database reached through a private PgBouncer in transaction mode (packages/testing's
 * startPgBouncer) instead of PostgreSQL itself, so any session state a statement leaves behind
 * (a named prepared statement, a session advisory lock, a SET, a LISTEN) breaks a test here.
 * Prints TAP (scripts/test.sh counts it in its one summary line; scripts/test-pgbouncer.sh alone
 * ends with its own). Extra arguments go to scripts/run-tests.mjs; test files among them replace the subset.
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startPgBouncer, TEST_POSTGRES_URL } from '@ghl-connect/testing'

/** Files whose tests, together, reach every repository of packages/db and the intake/send path. */
export const POOLER_SUBSET = [
  // the repositories (integrations, settings, delivery statuses, refresh answers and leases, claim codes, used links, overview) and migrations
  ...readdirSync(new URL('../packages/db/test/', import.meta.url)).filter((f) => f.endsWith('.test.ts')).map((f) => `packages/db/test/${f}`),
  'packages/cli/test/events-replay.test.ts', // CRM event replays
  'packages/cli/test/sms-retry-failed.test.ts', // SMS retries
  'packages/cli/test/clients.test.ts', // SMS overview
  'services/api/test/sms-intake.test.ts', // the intake: one SMS, its outbox row and job
  'packages/cli/test/tokens.test.ts', // client access tokens: minted, used by the api, listed, revoked
  'services/api/test/contact-dnd-webhooks.test.ts', // webhook receipts and contact DND
  'services/worker/test/sms-send.test.ts', // the send path
  'services/worker/test/crm-event-outbox.test.ts', // the events outbox
  'services/worker/test/retention.test.ts', // retention
]

const root = fileURLToPath(new URL('../', import.meta.url))

let pooler
try {
  pooler = await startPgBouncer({ postgresUrl: TEST_POSTGRES_URL })
} catch (err) {
  // a TAP failure the summary counts, rather than a silent skip of the whole target
  process.stdout.write(`TAP version 14\nnot ok 1 - the pgbouncer test target could not start PgBouncer: ${(err as Error).message.replace(/\n/g, ' ')}\n1..1\n`)
  process.exit(1)
}
process.stderr.write(`pgbouncer test target: PgBouncer (transaction mode) on 127.0.0.1:${pooler.port} in front of ${new URL(TEST_POSTGRES_URL).host}\n`)
// test files given run instead of the subset (to check one file through the pooler); a longer
// bound than the main suite's, as every statement takes one more hop (through PgBouncer)
const args = process.argv.slice(2)
const files = args.filter((a) => a.endsWith('.ts'))
const run = spawn(process.execPath, ['scripts/run-tests.mjs', '--timeout=300', ...args.filter((a) => !a.endsWith('.ts')), ...(files.length > 0 ? files : POOLER_SUBSET)], {
  cwd: root,
  // DATABASE_TRANSACTION_POOLER: for a process a test starts with process.env (testEnv sets it too)
  env: { ...process.env, TEST_PGBOUNCER_URL: pooler.url, DATABASE_TRANSACTION_POOLER: 'true' },
  stdio: 'inherit',
})
const code = await new Promise<number>((resolve) => run.once('exit', (c) => resolve(c ?? 1)))
await pooler.stop()
process.exit(code)
