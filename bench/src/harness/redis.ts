/** A throwaway redis-server on a spare loopback port, no persistence: FLUSHALL on it harms nothing else. */
import { spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from '@ghl-connect/testing'
import { waitFor } from './ports.ts'

export interface ThrowawayRedis {
  url: string
  flushAll: () => Promise<void>
  destroy: () => void
}

export async function startRedis (): Promise<ThrowawayRedis> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `redis://127.0.0.1:${port}`
  await waitFor('redis-server to answer', async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    r.on('error', () => {})
    try { await r.connect(); return (await r.ping()) === 'PONG' } finally { r.disconnect() }
  }, 15_000)
  return {
    url,
    flushAll: async () => {
      const r = new Redis(url)
      try { await r.flushall() } finally { r.disconnect() }
    },
    destroy: () => { child.kill('SIGKILL') },
  }
}
