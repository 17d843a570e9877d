/**
 * Round trips per SMS, counted on the stack's own servers: Redis by MONITOR (every command a
 * process sends; a MULTI ... EXEC block counts as one round trip, the commands a Lua script runs
 * inside Redis are counted apart), PostgreSQL by pg_stat_statements (statements executed,
 * BEGIN and COMMIT included). Two phases, each with nothing else talking to the servers:
 * - intake: `messages` POST /api/sms one after another (the api's connections only);
 * - worker: the same number of rows queued (by the harness, whose own commands are left out)
 *   and sent by one worker started beforehand.
 * Counts, not timings: they hold on any machine, and say what each request costs the servers.
 */
import { connect } from 'node:net'
import { request } from 'undici'
import type { Redis } from 'ioredis'
import { waitFor } from '../harness/ports.ts'
import type { Stack, Tenant } from '../harness/stack.ts'
import { round, say } from '../stats.ts'
import { LIFTED_LIMITS } from './worker.ts'

export interface PhaseCounts {
  /**
   * redis-server's CPU time (INFO cpu, user + system) per SMS over a second pass of the phase
   * without MONITOR (which costs Redis more than the commands it shows). In the worker phase it
   * includes the harness's enqueueing: the intake's share plus the worker's.
   */
  redisCpuMicrosPerSms: number
  /** PostgreSQL's time executing the phase's statements (pg_stat_statements), per SMS. */
  pgMillisPerSms: number
  redisRoundTrips: number
  redisCommands: number
  /** Commands run by Lua scripts inside Redis: no round trip, but Redis's CPU. */
  redisCommandsInScripts: number
  pgStatements: number
  redisByCommand: Record<string, number>
  pgByStatement: Record<string, number>
}

export interface RoundTripsResult {
  intake_redis_round_trips: number
  intake_pg_statements: number
  worker_redis_round_trips: number
  worker_pg_statements: number
  details: { messages: number, intake: PhaseCounts, worker: PhaseCounts }
}

interface Seen { source: string, command: string }

/**
 * Records what Redis is asked while `during` runs, and who asked: MONITOR on a plain socket (an
 * ioredis client in monitor mode can trip over its own reply queue under a busy stream).
 * A MONITOR line: `+<time> [<db> <client address>|lua] "<command>" "<arg>" ...`.
 */
async function monitorRedis (url: string, during: () => Promise<void>): Promise<Seen[]> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  const seen: Seen[] = []
  let rest = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\r\n')
    rest = lines.pop() ?? ''
    for (const line of lines) {
      const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line)
      if (m) seen.push({ source: m[1] === 'lua' ? 'lua' : m[1]!, command: m[2]!.toLowerCase() })
    }
  })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.write('MONITOR\r\n')
  await new Promise((resolve) => setTimeout(resolve, 100))
  try {
    await during()
    await new Promise((resolve) => setTimeout(resolve, 300))
  } finally {
    socket.destroy()
  }
  return seen
}

interface Statement { query: string, calls: number, ms: number }

async function statementStats (stack: Stack): Promise<Statement[]> {
  const rows = await stack.database.sql<Array<{ query: string, calls: string, ms: number }>>`
    select query, calls, total_exec_time as ms from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database()) and query not ilike '%pg_stat_statements%'`
  return rows.map((r) => ({ query: r.query.replace(/\s+/g, ' ').slice(0, 90), calls: Number(r.calls), ms: Number(r.ms) }))
}

/** redis-server's CPU time so far, in microseconds. */
async function redisCpuMicros (redis: Redis): Promise<number> {
  const info = String(await redis.info('cpu'))
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
}

/** redis-server's CPU per SMS while `run` sends `messages` SMS through, nothing else watching. */
async function redisCpuPerSms (redis: Redis, messages: number, run: () => Promise<void>): Promise<number> {
  const before = await redisCpuMicros(redis)
  await run()
  return round((await redisCpuMicros(redis) - before) / messages, 1)
}

function count (seen: Seen[], statements: Statement[], redisCpuUs: number, per: number, leaveOut: Set<string>): PhaseCounts {
  let roundTrips = 0
  let commands = 0
  let inScripts = 0
  const byCommand: Record<string, number> = {}
  const inMulti = new Set<string>()
  for (const s of seen) {
    if (leaveOut.has(s.source) || s.command === 'monitor') continue
    if (s.source === 'lua') { inScripts++; continue }
    commands++
    byCommand[s.command] = (byCommand[s.command] ?? 0) + 1
    if (s.command === 'multi') { inMulti.add(s.source); roundTrips++; continue }
    if (s.command === 'exec') { inMulti.delete(s.source); continue }
    if (!inMulti.has(s.source)) roundTrips++
  }
  const pgByStatement: Record<string, number> = {}
  for (const st of statements.sort((a, b) => b.calls - a.calls)) if (st.calls / per >= 0.05) pgByStatement[st.query] = round(st.calls / per, 2)
  return {
    redisCpuMicrosPerSms: redisCpuUs,
    pgMillisPerSms: round(statements.reduce((a, st) => a + st.ms, 0) / per, 3),
    redisRoundTrips: round(roundTrips / per, 2),
    redisCommands: round(commands / per, 2),
    redisCommandsInScripts: round(inScripts / per, 2),
    pgStatements: round(statements.reduce((a, s) => a + s.calls, 0) / per, 2),
    redisByCommand: Object.fromEntries(Object.entries(byCommand).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / per, 2)])),
    pgByStatement,
  }
}

const resetStatements = (stack: Stack) => stack.database.sql`select pg_stat_statements_reset()`

export async function roundTripsScenario (stack: Stack, tenants: Tenant[], opts: { messages: number }): Promise<RoundTripsResult> {
  const harness = /addr=(\S+)/.exec(String(await stack.redis.client('INFO')))?.[1] ?? ''
  const leaveOut = new Set([harness])

  // Intake: the api alone talks to the servers.
  await stack.resetData()
  const api = await stack.startApi()
  const post = async (i: number) => {
    const t = tenants[i % tenants.length]!
    const res = await request(`${api.url}/api/sms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: t.clientId, to: { contactId: t.contactId }, message: `Round trip ${i}` }),
    })
    await res.body.dump()
    if (res.statusCode !== 202) throw new Error(`POST /api/sms answered ${res.statusCode}`)
  }
  for (let i = 0; i < 20; i++) await post(i) // warm-up: connections, prepared statements, scripts loaded
  await resetStatements(stack)
  const intakeSeen = await monitorRedis(stack.redisServer.url, async () => { for (let i = 0; i < opts.messages; i++) await post(i) })
  const intakeStatements = await statementStats(stack)
  const intakeRedisCpu = await redisCpuPerSms(stack.redis, opts.messages, async () => { for (let i = 0; i < opts.messages; i++) await post(i) })
  const intake = count(intakeSeen, intakeStatements, intakeRedisCpu, opts.messages, leaveOut)
  await api.service.stop()

  // Worker: rows written first, the worker started, then the jobs queued by the harness.
  await stack.resetData()
  await stack.sandbox.setRateLimit({ max: 1_000_000_000, daily: 1_000_000_000 })
  const ids = await stack.enqueueDirect(Array.from({ length: opts.messages }, (_, i) => ({ tenant: tenants[i % tenants.length]!, body: `Round trip ${i}` })), { queue: false })
  const worker = await stack.startWorker('worker-round-trips', { ...LIFTED_LIMITS, WORKER_CONCURRENCY: '20' })
  const before = (await stack.sandbox.stats()).messagesSent
  await resetStatements(stack)
  const workerSeen = await monitorRedis(stack.redisServer.url, async () => {
    const rows = await stack.database.sql<Array<{ id: string, client_id: string }>>`select id, client_id from sms_messages where id = any(${ids}::uuid[])`
    for (const r of rows) await stack.dispatcher.enqueue({ id: r.id, clientId: r.client_id })
    await waitFor('the worker to send every SMS', async () => (await stack.sandbox.stats()).messagesSent >= before + opts.messages, 300_000, 100)
  })
  const statements = (await statementStats(stack)).filter((s) => !/^select id, client_id from sms_messages where id = any/.test(s.query))
  // Again without MONITOR, for Redis's CPU: the harness's enqueueing (the intake's share) and the worker's.
  const again = await stack.enqueueDirect(Array.from({ length: opts.messages }, (_, i) => ({ tenant: tenants[i % tenants.length]!, body: `Round trip again ${i}` })), { queue: false })
  const rows = await stack.database.sql<Array<{ id: string, client_id: string }>>`select id, client_id from sms_messages where id = any(${again}::uuid[])`
  const workerRedisCpu = await redisCpuPerSms(stack.redis, opts.messages, async () => {
    for (const r of rows) await stack.dispatcher.enqueue({ id: r.id, clientId: r.client_id })
    await waitFor('the worker to send every SMS again', async () => (await stack.sandbox.stats()).messagesSent >= before + 2 * opts.messages, 300_000, 100)
  })
  const sent = count(workerSeen, statements, workerRedisCpu, opts.messages, leaveOut)
  await worker.stop()
  await stack.sandbox.setRateLimit({ max: 100, intervalMs: 10_000, daily: 200_000 })

  say(`round trips per SMS: intake Redis ${intake.redisRoundTrips} (${intake.redisCommands} commands, Redis CPU ${intake.redisCpuMicrosPerSms} µs), PostgreSQL ${intake.pgStatements} statements (${intake.pgMillisPerSms} ms); worker Redis ${sent.redisRoundTrips} (${sent.redisCommands} commands; Redis CPU intake + worker ${sent.redisCpuMicrosPerSms} µs), PostgreSQL ${sent.pgStatements} (${sent.pgMillisPerSms} ms)`)
  return {
    intake_redis_round_trips: intake.redisRoundTrips,
    intake_pg_statements: intake.pgStatements,
    worker_redis_round_trips: sent.redisRoundTrips,
    worker_pg_statements: sent.pgStatements,
    details: { messages: opts.messages, intake, worker: sent },
  }
}
