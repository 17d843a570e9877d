import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const key = `k1:${Buffer.alloc(32, 7).toString('base64')}`

// A newcomer's .env: .env.example copied, the REQUIRED values filled, everything else as shipped
// (empty optional values, the unquoted space-separated GHL_SCOPES), plus a value with a quote.
function newcomerEnv (dir: string): string {
  const filled: Record<string, string> = {
    GHL_CLIENT_ID: 'client-id', GHL_CLIENT_SECRET: 'client-secret-value', GHL_APP_ID: 'app-id', TOKEN_ENCRYPTION_KEYS: key,
    API_KEYS: `crm:${'a'.repeat(32)}`, CONNECT_LINK_SECRET: 'c'.repeat(32), COOKIE_SECRET: 'k'.repeat(32), ADMIN_PASSWORD: "it's 'quoted' $HOME",
  }
  const lines = readFileSync(join(root, '.env.example'), 'utf8').split('\n')
    .map((line) => { const name = line.split('=')[0]!; return name in filled ? `${name}=${filled[name]}` : line })
  const file = join(dir, '.env')
  writeFileSync(file, lines.join('\n'))
  return file
}

const printConfig = `import { loadApiConfig } from '@ghl-connect/config'
const c = loadApiConfig()
console.log(JSON.stringify({ scopes: c.ghl.scopes, redirectUri: c.ghl.redirectUri, crmEvents: c.crmEvents, metricsToken: c.http.metrics.token, adminPassword: c.http.admin.password, port: c.http.port }))`
const expected = {
  scopes: ['conversations/message.write', 'conversations/message.readonly', 'conversations.readonly', 'contacts.readonly', 'contacts.write', 'locations.readonly', 'opportunities.readonly', 'calendars.readonly', 'calendars/events.readonly', 'oauth.readonly', 'oauth.write'],
  redirectUri: 'http://localhost:3000/api/ghl-oauth/callback',
  crmEvents: null,
  metricsToken: null,
  adminPassword: "it's 'quoted' $HOME",
  port: 3000,
}
// Run from packages/config so the workspace package resolves; no inherited configuration.
const cwd = join(root, 'packages/config')
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GHL_|API_KEYS|ADMIN_|PORT|CRM_|METRICS_|TOKEN_|COOKIE_|CONNECT_)/.test(name)))

t.test('scripts/start.sh loading: a newcomer .env reaches the processes with the right values', async (t) => {
  const file = newcomerEnv(t.testdir())
  const script = `set -euo pipefail; source "${join(root, 'scripts/lib.sh')}"; load_env_file "$1"
    [ "$GHL_SCOPES" = "${expected.scopes.join(' ')}" ] || { echo "GHL_SCOPES in the shell: $GHL_SCOPES" >&2; exit 1; }
    node --import tsx --input-type=module -e "$2"`
  const out = execFileSync('bash', ['-c', script, 'load', file, printConfig], { cwd, env: cleanEnv(), encoding: 'utf8' })
  t.same(JSON.parse(out), expected)
})

t.test('a variable set in the environment wins over the .env file, as with node --env-file', async (t) => {
  const file = newcomerEnv(t.testdir())
  const script = `source "${join(root, 'scripts/lib.sh')}"; load_env_file "$1"; node --import tsx --input-type=module -e "$2"`
  const out = execFileSync('bash', ['-c', script, 'load', file, printConfig], { cwd, env: { ...cleanEnv(), PORT: '4100' }, encoding: 'utf8' })
  t.equal(JSON.parse(out).port, 4100)
})

t.test('node --env-file reads the same .env alike', async (t) => {
  const file = newcomerEnv(t.testdir())
  const out = execFileSync(process.execPath, [`--env-file=${file}`, '--import', 'tsx', '--input-type=module', '-e', printConfig],
    { cwd, env: cleanEnv(), encoding: 'utf8' })
  t.same(JSON.parse(out), expected)
})
