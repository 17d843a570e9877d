import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

t.test('the standalone server starts from the environment, seeds named locations and stops on SIGTERM', async (t) => {
  const tsx = createRequire(import.meta.url).resolve('tsx')
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'src/server.ts')], {
    cwd: root,
    env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_HOST: '127.0.0.1', LOG_LEVEL: 'info', GHL_CLIENT_ID: 'standalone-client', GHL_CLIENT_SECRET: 'standalone-secret', GHL_APP_ID: 'standalone-app' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"address":"(http:\/\/[^"]+)"/.exec(output)
      if (match?.[1]) resolve(match[1])
    })
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)))
  })
  t.notMatch(output, /standalone-secret/, 'the client secret is not logged')
  const { locations } = await (await fetch(`${address}/_sandbox/locations`)).json() as { locations: Array<{ name: string }> }
  t.same(locations.map((l) => l.name), ['Sunrise Dental', 'Harbor Plumbing', 'Northwind Agency (agency install)'])
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})

t.test('without GHL_CLIENT_SECRET the server refuses to start, naming the variable', async (t) => {
  const tsx = createRequire(import.meta.url).resolve('tsx')
  const env: Record<string, string | undefined> = { ...process.env, SANDBOX_PORT: '0', GHL_CLIENT_ID: 'c', GHL_APP_ID: 'a' }
  delete env.GHL_CLIENT_SECRET
  const child = spawn(process.execPath, ['--import', tsx, join(root, 'src/server.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 78)
  t.match(stderr, /GHL_CLIENT_SECRET is required/)
})
