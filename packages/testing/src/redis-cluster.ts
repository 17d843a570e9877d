/**
 * A throwaway Redis Cluster for tests, the bench and the drills: `masters` redis-server processes
 * in cluster mode (and `replicas` per master) on free loopback ports (each node's cluster bus on a
 * free port of its own, so nothing fixed collides with another run on the machine), joined by
 * `redis-cli --cluster create`, no persistence, removed by `destroy`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { eventually } from './eventually.ts'
import { freePort } from './ports.ts'

export interface ClusterNode { host: string, port: number }

export interface ThrowawayCluster {
  /** Every node, masters first as created (replicas follow). */
  nodes: ClusterNode[]
  /** REDIS_CLUSTER_NODES for a process pointed at it. */
  env: string
  /** A client like the services' own (maxRetriesPerRequest null on every node, as BullMQ needs). */
  connect: () => Cluster
  /** The nodes serving slots now, and each one's replicas (from CLUSTER NODES on a live node). */
  masters: () => Promise<Array<ClusterNode & { id: string, slots: number, replicas: number }>>
  /** cluster_state is ok on every live node and each slot has a live master. */
  healthy: () => Promise<boolean>
  /** SIGKILL of the node on `port` (its replica, if any, takes over after the node timeout). */
  kill: (port: number) => void
  /** FLUSHALL on every live master. */
  flushAll: () => Promise<void>
  destroy: () => void
}

export interface ClusterOptions {
  masters?: number
  /** Replicas per master (`--cluster-replicas`). */
  replicas?: number
  /** cluster-node-timeout: how long a silent master has before its replica is promoted (Redis's default is 15,000). */
  nodeTimeoutMs?: number
}

const node = (port: number) => new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 })

async function ask<T> (port: number, call: (r: Redis) => Promise<T>): Promise<T> {
  const r = node(port)
  r.on('error', () => {})
  try { await r.connect(); return await call(r) } finally { r.disconnect() }
}

export async function startRedisCluster (opts: ClusterOptions = {}): Promise<ThrowawayCluster> {
  const masters = opts.masters ?? 3
  const replicas = opts.replicas ?? 0
  const dir = mkdtempSync(join(tmpdir(), 'ghl-cluster-'))
  const children = new Map<number, ChildProcess>()
  const nodes: ClusterNode[] = []
  const destroy = () => { for (const c of children.values()) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) }
  const live = () => nodes.filter((n) => { const c = children.get(n.port); return c && c.exitCode === null && c.signalCode === null })
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort()
      const bus = await freePort()
      children.set(port, spawn('redis-server', ['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
        // A replica may take over however long ago it last heard from its master (a throwaway has no stale data to fear).
        '--cluster-replica-validity-factor', '0',
        '--save', '', '--appendonly', 'no', '--loglevel', 'notice', '--logfile', `node-${port}.log`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] }))
      nodes.push({ host: '127.0.0.1', port })
    }
    for (const n of nodes) await eventually(`redis-server ${n.port} to answer`, () => ask(n.port, async (r) => (await r.ping()) === 'PONG').catch(() => false), 15_000)
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { stdio: 'ignore' })
  } catch (err) {
    destroy()
    throw err
  }
  const clusterNodes = async () => {
    for (const n of live()) {
      const text = await ask(n.port, (r) => r.cluster('NODES') as Promise<string>).catch(() => undefined)
      if (text) return text.trim().split('\n').map((line) => line.split(' '))
    }
    return []
  }
  const cluster: ThrowawayCluster = {
    nodes,
    env: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    connect: () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } }),
    masters: async () => {
      const rows = await clusterNodes()
      const up = rows.filter((f) => f[2]!.includes('master') && !f[2]!.includes('fail') && f.length > 8)
      return up.map((f) => {
        const port = Number(f[1]!.split('@')[0]!.split(':')[1])
        const slots = f.slice(8).reduce((sum, range) => { const [a, b] = range.split('-').map(Number); return sum + (b === undefined ? 1 : b - a! + 1) }, 0)
        const replicaCount = rows.filter((r) => r[3] === f[0] && !r[2]!.includes('fail')).length
        return { host: '127.0.0.1', port, id: f[0]!, slots, replicas: replicaCount }
      })
    },
    healthy: async () => {
      const states = await Promise.all(live().map((n) => ask(n.port, (r) => r.cluster('INFO') as Promise<string>).catch(() => '')))
      if (!states.every((s) => s.includes('cluster_state:ok'))) return false
      // A killed master is listed as serving its slots until the others notice (the node timeout).
      const alive = new Set(live().map((n) => n.port))
      return (await cluster.masters()).filter((m) => alive.has(m.port)).reduce((sum, m) => sum + m.slots, 0) === 16_384
    },
    kill: (port) => { children.get(port)?.kill('SIGKILL') },
    flushAll: async () => {
      for (const m of await cluster.masters()) await ask(m.port, (r) => r.flushall())
    },
    destroy,
  }
  try {
    await eventually('the cluster to be ok on every node, every replica attached', async () =>
      await cluster.healthy() && (await cluster.masters()).every((m) => m.replicas === replicas), 30_000)
  } catch (err) {
    destroy()
    throw err
  }
  return cluster
}
