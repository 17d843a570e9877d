/**
 * What production runs: `pnpm build`, then `bash scripts/deploy.sh` (the Dockerfile's two build
 * steps), then each service started with plain node from its deployed folder (production
 * dependencies only, no tsx) against real PostgreSQL and Redis.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, testEnv } from '@ghl-connect/testing'
import { ROOT, start, unusedPort, waitUntil, type Started } from './helpers.ts'

const scratch = mkdtempSync(join(tmpdir(), 'ghl-build-'))
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

/** Runs a command to its end; rejects with what it printed when it fails. */
function run (command: string, args: string[], opts: { cwd: string, env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
    child.once('error', reject)
    child.once('exit', (code) => code === 0 ? resolveRun(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}`)))
  })
}

async function getJson (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: unknown, text: string }> {
  const response = await fetch(url, { headers })
  const text = await response.text()
  let body: unknown = null
  try { body = JSON.parse(text) } catch { /* a page */ }
  return { status: response.status, body, text }
}

async function stop (t: Test, name: string, service: Started): Promise<void> {
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0, `${name} exits 0 on SIGTERM`)
}

t.test('the compiled api, worker and sandbox start with plain node from their deployed folders and answer ready', async (t) => {
  await run('pnpm', ['build'], { cwd: ROOT })
  await run('bash', ['scripts/deploy.sh', scratch], { cwd: ROOT })
  for (const dir of ['api', 'worker', 'ghl-sandbox', 'db']) {
    t.notOk(existsSync(join(scratch, dir, 'src')), `${dir}: no TypeScript sources deployed`)
    t.notOk(existsSync(join(scratch, dir, 'node_modules', 'tsx')) || existsSync(join(scratch, dir, 'node_modules', 'typescript')),
      `${dir}: no devDependencies deployed`)
  }

  // a bare environment: nothing of the test runner's (no --import tsx) reaches the processes
  const base = { PATH: process.env.PATH, HOME: process.env.HOME }
  const db = await createTestDatabase({ migrate: false })
  t.teardown(() => db.drop())
  const migrated = await run('node', ['dist/migrate.js'], { cwd: join(scratch, 'db'), env: { ...base, DATABASE_URL: db.url } })
  t.match(migrated, /migrations applied/, 'the compiled migrate finds the migrations folder beside it')
  const [table] = await db.sql<Array<{ name: string | null }>>`select to_regclass('ghl_integrations')::text as name`
  t.equal(table!.name, 'ghl_integrations', 'the schema is in place')

  const [sandboxPort, apiPort, workerPort] = [await unusedPort(), await unusedPort(), await unusedPort()]
  const env = testEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    PORT: String(apiPort),
    APP_URL: `http://127.0.0.1:${apiPort}`,
    WORKER_HEALTH_PORT: String(workerPort),
    SANDBOX_PORT: String(sandboxPort),
    GHL_API_BASE_URL: `http://127.0.0.1:${sandboxPort}`,
    GHL_AUTH_BASE_URL: `http://127.0.0.1:${sandboxPort}`,
    ADMIN_USER: 'admin',
  })
  const services: Array<[string, Started]> = []
  for (const [name, entry] of [['ghl-sandbox', 'dist/server.js'], ['api', 'dist/server.js'], ['worker', 'dist/main.js']] as const) {
    const service = start('node', [entry], { cwd: join(scratch, name), env: { ...base, ...env } })
    services.push([name, service])
    t.teardown(() => { service.child.kill('SIGKILL') })
  }
  const running = (name: string) => services.find(([n]) => n === name)![1]
  const ready = (name: string, url: string) => waitUntil(`${name} ready`, async () => {
    const service = running(name)
    if (service.child.exitCode !== null) throw new Error(`${name} exited (${service.child.exitCode}):\n${service.output()}`)
    const answer = await getJson(url).catch(() => undefined)
    return answer?.status === 200 ? answer : undefined
  }, 40_000)

  t.match((await ready('api', `http://127.0.0.1:${apiPort}/readyz`)).body, { status: 'ready', postgres: { ok: true }, redis: { ok: true } }, 'api /readyz: ready')
  t.match((await ready('worker', `http://127.0.0.1:${workerPort}/readyz`)).body, { status: 'ready' }, 'worker /readyz: ready')
  t.equal((await ready('ghl-sandbox', `http://127.0.0.1:${sandboxPort}/_sandbox/stats`)).status, 200, 'sandbox answers')

  // files the bundle reads at run time from its dependencies: Swagger UI's assets, Bull Board's page
  const docs = await getJson(`http://127.0.0.1:${apiPort}/docs`)
  t.equal(docs.status, 200, 'Swagger UI is served')
  t.match(docs.text, /swagger-ui/i)
  const spec = await getJson(`http://127.0.0.1:${apiPort}/docs/json`)
  t.match(spec.body, { openapi: String }, 'the OpenAPI document is served')
  const board = await getJson(`http://127.0.0.1:${apiPort}/admin/queues`,
    { authorization: `Basic ${Buffer.from(`admin:${env.ADMIN_PASSWORD}`).toString('base64')}` })
  t.equal(board.status, 200, 'Bull Board is served')

  // the images' HEALTHCHECK command
  const healthcheck = () => run('node', [join(ROOT, 'scripts/healthcheck.mjs'), 'PORT', '3000', '/readyz'],
    { cwd: scratch, env: { ...base, PORT: String(apiPort) } }).then(() => 0, () => 1)
  t.equal(await healthcheck(), 0, 'the HEALTHCHECK passes while the api is ready')

  for (const [name, service] of services.reverse()) await stop(t, name, service)
  t.equal(await healthcheck(), 1, 'and fails once it is gone')
  for (const [name, service] of services) {
    t.notMatch(service.output(), /DeprecationWarning|ExperimentalWarning/, `${name} printed no warning`)
  }
})
