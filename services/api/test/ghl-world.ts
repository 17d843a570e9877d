/**
 * For tests of the proxy and the MCP endpoint: the api with a sandbox HighLevel, clients
 * connected with real sandbox tokens, the api's log lines, and a real worker process beside it.
 */
import { spawn } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { buildTestApiWithSandbox, type TestApiWithSandbox } from './helper.ts'

export { eventually } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const SUNRISE = 'sbxLocation000000001'
export const JANE = 'sbxContact0000000001'
export const PROXY_SCOPES = ['conversations/message.write', 'conversations/message.readonly', 'contacts.readonly', 'contacts.write', 'locations.readonly',
  'opportunities.readonly', 'calendars.readonly', 'calendars/events.readonly']

export interface GhlWorld extends TestApiWithSandbox {
  /** An active connection of `clientId` to `locationId` with fresh sandbox tokens (`expired`: its access token is dead already). */
  connect: (clientId: string, opts?: { locationId?: string, expired?: boolean }) => Promise<void>
  /** A worker process on the same database, Redis prefix and sandbox; stopped at teardown. */
  startWorker: (env?: Record<string, string>) => void
  logs: string[]
}

export async function ghlWorld (t: Test, overrides: Record<string, string> = {}, sandboxOptions: Parameters<typeof buildTestApiWithSandbox>[2] = {}): Promise<GhlWorld> {
  const logs: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { logs.push(...String(chunk).split('\n').filter(Boolean)); done() } })
  const api = await buildTestApiWithSandbox(t, overrides, sandboxOptions, { logs: stream })
  const connect = async (clientId: string, opts: { locationId?: string, expired?: boolean } = {}) => {
    const { control } = api.sandbox
    if (opts.expired) control.configure({ accessTokenTtlSeconds: 1 })
    const tokens = control.issueTokens({ locationId: opts.locationId ?? SUNRISE, scopes: PROXY_SCOPES })
    control.configure({ accessTokenTtlSeconds: 86_399 })
    if (opts.expired) control.advanceClock(2000)
    await api.app.runtime.integrations.replaceActive(clientId, {
      locationId: opts.locationId ?? SUNRISE, locationName: 'Sunrise Dental', userType: 'Location', scopes: PROXY_SCOPES,
      accessToken: tokens.access_token, refreshToken: String(tokens.refresh_token),
      // Our record says fresh even when HighLevel has let it expire: only HighLevel's 401 tells.
      expiresAt: new Date(Date.now() + 86_399_000),
    })
  }
  const startWorker = (env: Record<string, string> = {}) => {
    const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env, ...env }, stdio: 'ignore' })
    const exited = new Promise((resolve) => worker.once('exit', resolve))
    t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })
  }
  return { ...api, connect, startWorker, logs }
}
