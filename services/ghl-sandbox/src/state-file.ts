/**
 * The sandbox's state kept in a JSON file, so restarting a local stack keeps its grants: a client
 * connected before the restart still refreshes and sends after it, as with HighLevel, whose tokens
 * outlive our processes. Read once at start; written (to a temporary file renamed over the old
 * one, so a crash never leaves half a file) shortly after each request that may change something,
 * and on close. Tests leave it off and keep their state in memory.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { SandboxState, StateSnapshot } from './state.ts'

/** Requests come in bursts (a send is a lookup, a create, a send): one write for the burst. */
const WRITE_DELAY_MS = 200

export function keepStateIn (app: FastifyInstance, state: SandboxState, path: string): void {
  const saved = readSnapshot(path)
  if (saved) state.restore(saved)
  let timer: NodeJS.Timeout | undefined
  const write = (): void => {
    clearTimeout(timer)
    timer = undefined
    writeSnapshot(path, state.snapshot())
  }
  app.addHook('onResponse', async (request) => {
    // GETs read, except the auto-approved consent page's code, which its token exchange (a POST) saves.
    if (request.method === 'GET' || request.method === 'HEAD' || timer) return
    timer = setTimeout(write, WRITE_DELAY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => write())
}

function readSnapshot (path: string): StateSnapshot | undefined {
  if (!existsSync(path)) return undefined
  let snapshot: StateSnapshot
  try {
    snapshot = JSON.parse(readFileSync(path, 'utf8')) as StateSnapshot
  } catch (err) {
    throw new Error(`The sandbox state file ${path} cannot be read (${(err as Error).message}); delete it to start from the seed.`)
  }
  if (snapshot.version !== 1) throw new Error(`The sandbox state file ${path} has an unknown version; delete it to start from the seed.`)
  return snapshot
}

function writeSnapshot (path: string, snapshot: StateSnapshot): void {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, JSON.stringify(snapshot), { mode: 0o600 })
  renameSync(temporary, path)
}
