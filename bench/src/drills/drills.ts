/** The five fault drills of `pnpm drill`. Each owns its stack; see docs/benchmarks.md for what each shows. */
import { sleep } from '../harness/ports.ts'
import { say } from '../stats.ts'
import { DrillKit, type DrillTally } from './drill-kit.ts'

const SMS = 2000

/**
 * 3 workers, 2,000 SMS over 10 tenants; worker 0 SIGKILLed five times and restarted. An SMS the
 * kill left `sending` is settled by asking HighLevel: none may be left delivery_unknown.
 */
export async function killWorker (): Promise<DrillTally> {
  const kit = new DrillKit('kill_worker')
  try {
    await kit.start({ workers: 3, tenants: 10 })
    const kills: number[] = []
    await kit.sendAll(SMS, 16, async () => {
      for (let k = 0; k < 5; k++) {
        await sleep(2500)
        kit.workers[0]!.kill('SIGKILL')
        kills.push(Date.now())
        await kit.workers[0]!.exited
        await kit.restartWorker(0)
      }
    })
    await kit.settle()
    return await kit.tally({ notes: { kills: kills.length } })
  } finally {
    await kit.close()
  }
}

/** FLUSHALL on the drill's own Redis in the middle of the run (half the SMS sent). */
export async function redisFlush (): Promise<DrillTally> {
  const kit = new DrillKit('redis_flush')
  try {
    await kit.start({ workers: 2 })
    let flushedWithOpen = 0
    await kit.sendAll(SMS, 32, async () => {
      await kit.halfway(SMS)
      flushedWithOpen = await kit.outstanding()
      await kit.stack.redisServer.flushAll()
      say(`redis_flush: FLUSHALL with ${flushedWithOpen} SMS queued or sending`)
    })
    await kit.settle()
    return await kit.tally({ notes: { openAtFlush: flushedWithOpen } })
  } finally {
    await kit.close()
  }
}

/** PostgreSQL stopped for 8 s in the middle of the run (half the SMS sent) and started again; the api answers 503 meanwhile. */
export async function postgresRestart (): Promise<DrillTally> {
  const kit = new DrillKit('postgres_restart')
  try {
    await kit.start({ workers: 2 })
    let downFor = 0
    await kit.sendAll(SMS, 32, async () => {
      await kit.halfway(SMS)
      const stopped = Date.now()
      kit.stack.pg.stop()
      say('postgres_restart: PostgreSQL stopped')
      await sleep(8000)
      await kit.stack.pg.start()
      downFor = Date.now() - stopped
      say('postgres_restart: PostgreSQL started again')
    })
    await kit.settle()
    return await kit.tally({ notes: { downForMs: downFor } })
  } finally {
    await kit.close()
  }
}

/**
 * HighLevel misbehaving, over 10 tenants: 20% of requests answer 500; of the requests the
 * sandbox sees, about 5% never answer (the client's timeout ends them), 4% are sends HighLevel
 * takes and then resets the connection, 4% sends it takes and then answers a gateway's 502, 3%
 * are reset before anything is done; and a burst of 15 429s hits one location every 3 s.
 */
export async function ghlFaults (): Promise<DrillTally> {
  const kit = new DrillKit('ghl_faults')
  try {
    await kit.start({ workers: 2, tenants: 10 })
    const { sandbox } = kit.stack
    await sandbox.setFaults({ errorRate: 0.2, errorStatus: 500 })
    const rates = { hangNext: 0.05, acceptThenResetNext: 0.04, acceptThen502Next: 0.04, resetNext: 0.03 }
    type Armed = keyof typeof rates
    const armedInAll: Record<Armed, number> = { hangNext: 0, acceptThenResetNext: 0, acceptThen502Next: 0, resetNext: 0 }
    const carry: Record<Armed, number> = { hangNext: 0, acceptThenResetNext: 0, acceptThen502Next: 0, resetNext: 0 }
    let running = true
    let bursts = 0
    const chaos = (async () => {
      let lastSent = 0
      for (let tick = 0; running; tick++) {
        // HighLevel accepted ~sent/0.75 requests in the last second (20% are 500s); arm each fault at its share of them.
        const { messagesSent } = await sandbox.stats()
        const requests = (messagesSent - lastSent) / 0.75
        lastSent = messagesSent
        const perTenant = kit.tenants.map(() => ({} as Partial<Record<Armed, number>>))
        for (const fault of Object.keys(rates) as Armed[]) {
          carry[fault] += requests * rates[fault]
          for (; carry[fault] >= 1; carry[fault]--) {
            const armed = perTenant[Math.floor(Math.random() * kit.tenants.length)]!
            armed[fault] = (armed[fault] ?? 0) + 1
            armedInAll[fault]++
          }
        }
        const burstAt = tick % 3 === 0 ? Math.floor(Math.random() * kit.tenants.length) : -1
        if (burstAt >= 0) bursts++
        await Promise.all(kit.tenants.map((t, i) => sandbox.setFaults({
          ...perTenant[i],
          ...(i === burstAt ? { rateLimitNext: 15 } : {}),
        }, t.locationId)))
        await sleep(1000)
      }
    })()
    await kit.sendAll(SMS, 16)
    await kit.settle(300_000)
    running = false
    await chaos
    await sandbox.clearFaults()
    return await kit.tally({ notes: { armed: armedInAll, burstsArmed: bursts } })
  } finally {
    await kit.close()
  }
}

/**
 * 3 workers keep 100 SMS in flight over 20 tenants for 60 s while every access token lives 5 s,
 * so refreshes race constantly: single-use refresh tokens must never be spent twice.
 */
export async function refreshRace (seconds = 60): Promise<DrillTally> {
  const kit = new DrillKit('refresh_race', { TOKEN_REFRESH_WINDOW_SECONDS: '2' })
  try {
    await kit.start({ workers: 3, beforeSeed: async (stack) => { await stack.sandbox.settings({ accessTokenTtlSeconds: 5 }) } })
    const until = Date.now() + seconds * 1000
    let n = 0
    const inFlight = new Set<Promise<void>>()
    while (Date.now() < until) {
      const open = await kit.outstanding()
      for (let i = open + inFlight.size; i < 100; i++) {
        const p = kit.send(n++).finally(() => inFlight.delete(p))
        inFlight.add(p)
      }
      await sleep(200)
    }
    await Promise.all(inFlight)
    await kit.settle()
    const stats = await kit.stack.sandbox.stats()
    const [reauth] = await kit.stack.database.sql<Array<{ n: number }>>`select count(*)::int as n from ghl_integrations where status = 'needs_reauth'`
    return await kit.tally({ invalid_grants: stats.invalidGrants, notes: { refreshes: stats.refreshes, needsReauth: reauth!.n, seconds } })
  } finally {
    await kit.close()
  }
}

export const DRILLS = {
  kill_worker: killWorker,
  redis_flush: redisFlush,
  postgres_restart: postgresRestart,
  ghl_faults: ghlFaults,
  refresh_race: refreshRace,
} as const
