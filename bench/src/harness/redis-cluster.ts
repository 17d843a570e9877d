/**
 * A throwaway Redis Cluster: three redis-server masters in cluster mode on spare loopback ports,
 * joined by `redis-cli --cluster create`, no persistence, removed at the end.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { freePort } from '@ghl-connect/testing'
import { waitFor } from './ports.ts'

export interface ThrowawayCluster { nodes: Array<{ host: string, port: number }>, connect: () => Cluster, destroy: () => void }

export async function startRedisCluster (masters = 3): Promise<ThrowawayCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ghl-cluster-'))
  const children: ChildProcess[] = []
  const nodes: Array<{ host: string, port: number }> = []
  const destroy = () => { for (const c of children) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) }
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort()
      children.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] }))
      nodes.push({ host: '127.0.0.1', port })
      await waitFor(`redis-server ${port} to answer`, async () => {
        const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        r.on('error', () => {})
        try { await r.connect(); return (await r.ping()) === 'PONG' } finally { r.disconnect() }
      }, 15_000)
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' })
    await waitFor('the cluster to be ok', async () => {
      const r = new Redis(nodes[0]!.port, '127.0.0.1', { maxRetriesPerRequest: 0 })
      try { return String(await r.cluster('INFO')).includes('cluster_state:ok') } finally { r.disconnect() }
    }, 30_000, 200)
  } catch (err) {
    destroy()
    throw err
  }
  return {
    nodes,
    // BullMQ needs maxRetriesPerRequest null on every node connection.
    connect: () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } }),
    destroy,
  }
}
