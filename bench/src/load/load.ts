/** Runs autocannon in a separate process and returns its figures. */
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface LoadSpec {
  url: string
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  /** Request bodies used in turn. */
  bodies?: string[]
  connections: number
  durationSeconds: number
  /** Requests per second over all connections; absent = as fast as the server answers. */
  overallRate?: number
}

export interface LoadResult {
  requests: number
  rps: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  durationSeconds: number
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'autocannon-child.ts')

export function runLoad (spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(spec)], { maxBuffer: 10 * 1024 * 1024, timeout: (spec.durationSeconds + 60) * 1000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`load generator failed: ${err.message}\n${stderr}`))
        const line = stdout.trim().split('\n').pop() ?? ''
        try { resolve(JSON.parse(line) as LoadResult) } catch { reject(new Error(`load generator printed no result: ${stdout}${stderr}`)) }
      })
  })
}
