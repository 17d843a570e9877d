/**
 * What every drill shares: a stack of its own (so killing PostgreSQL, Redis or a worker harms
 * nothing else), 20 connected tenants, an api, N workers, a CRM-like client that POSTs SMS with
 * idempotency keys and retries 503s and refused connections, and the tally from the sandbox's
 * record of what HighLevel accepted.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import type { Env } from '../harness/env.ts'
import { sleep, waitFor } from '../harness/ports.ts'
import type { Service } from '../harness/processes.ts'
import { Stack, type RunningApi, type Tenant } from '../harness/stack.ts'
import { say } from '../stats.ts'

export interface DrillTally {
  drill: string
  sms_requested: number
  sms_sent: number
  lost: number
  duplicated: number
  invalid_grants?: number
  /** SMS the outbox reports `delivery_unknown`: nobody could tell whether HighLevel took them. */
  delivery_unknown: number
  /** Clients left `needs_reauth` at the end (the refresh drills). */
  needs_reauth?: number
  /** Of the lost: how many the outbox reports as failed (the CRM was told), by code. */
  failed_reported: Record<string, number>
  notes: Record<string, unknown>
}

/** Fast recovery settings every drill uses, all ordinary configuration. */
export const DRILL_ENV: Env = {
  OUTBOX_RECONCILE_EVERY_SECONDS: '5',
  OUTBOX_RECONCILE_AFTER_SECONDS: '5',
  GHL_HTTP_TIMEOUT_MS: '3000',
  SMS_RETRY_BASE_MS: '500',
  SMS_VERIFY_SETTLE_SECONDS: '5',
  // A refresh's lease and lock are sized from it: a dead holder's lock ends ~11 s later.
  TOKEN_CALL_TIMEOUT_MS: '5000',
  LOG_LEVEL: 'info',
}

export class DrillKit {
  stack!: Stack
  tenants: Tenant[] = []
  api!: RunningApi
  /** Every api; a CRM's request goes to one of them (a load balancer's round robin), a retry to the next. */
  apis: RunningApi[] = []
  workers: Service[] = []
  readonly responses: Record<string, number> = {}
  private readonly agent = new Agent({ connections: 32 })
  private requested = 0
  private readonly bodies: string[] = []

  /** `emailShare`: the share of messages sent as email (POST /api/email) instead of SMS, by count (0.5: every other one). */
  constructor (readonly name: string, private readonly env: Env = {}, private readonly mix: { emailShare?: number } = {}) {}

  private readonly channels = { sms: 0, email: 0 }

  private isEmail (n: number): boolean {
    const share = this.mix.emailShare ?? 0
    return Math.floor((n + 1) * share) > Math.floor(n * share)
  }

  async start (opts: { workers: number, apis?: number, tenants?: number, beforeSeed?: (stack: Stack) => Promise<void>, stack?: Parameters<typeof Stack.start>[1] }): Promise<void> {
    this.stack = await Stack.start(`drill-${this.name}`, opts.stack)
    Object.assign(this.stack.base, DRILL_ENV, this.env)
    await opts.beforeSeed?.(this.stack)
    this.tenants = await this.stack.seedTenants(opts.tenants ?? 20, 'tenant')
    for (let i = 0; i < (opts.apis ?? 1); i++) this.apis.push(await this.stack.startApi({}, i === 0 ? 'api' : `api-${i}`))
    this.api = this.apis[0]!
    for (let i = 0; i < opts.workers; i++) this.workers.push(await this.stack.startWorker(`worker-${i}`))
  }

  async restartWorker (i: number): Promise<void> {
    this.workers[i] = await this.stack.startWorker(`worker-${i}`)
  }

  /** POSTs one message (SMS, or email for the drill's email share) like a careful CRM: the same idempotency key until the api accepts it. */
  async send (n: number): Promise<void> {
    const tenant = this.tenants[n % this.tenants.length]!
    const email = this.isEmail(n)
    const body = `drill ${this.name} ${email ? 'email' : 'sms'} ${n}`
    const payload = JSON.stringify(email
      ? { clientId: tenant.clientId, to: { contactId: tenant.contactId }, subject: `drill ${n}`, text: body, idempotencyKey: `drill-${n}` }
      : { clientId: tenant.clientId, to: { contactId: tenant.contactId }, message: body, idempotencyKey: `drill-${n}` })
    for (let attempt = 0; ; attempt++) {
      let status = 0
      const api = this.apis[(n + attempt) % this.apis.length]!
      try {
        const res = await request(`${api.url}/api/${email ? 'email' : 'sms'}`, {
          method: 'POST', dispatcher: this.agent, body: payload,
          headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
          headersTimeout: 15_000, bodyTimeout: 15_000,
        })
        status = res.statusCode
        await res.body.dump()
      } catch {
        status = -1
      }
      this.responses[status] = (this.responses[status] ?? 0) + 1
      if (status === 202) { this.requested++; this.channels[email ? 'email' : 'sms']++; this.bodies.push(body); return }
      // Refused for good (e.g. 409 needs_reauth: the client must reconnect): counted in apiAnswers, not retried.
      if (status === 409) return
      if (attempt > 200) throw new Error(`SMS ${n} never accepted (last answer ${status})`)
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)))
    }
  }

  /** Sends `count` SMS, `concurrency` at a time; `during` runs beside it (the fault). */
  async sendAll (count: number, concurrency: number, during?: () => Promise<void>): Promise<void> {
    let next = 0
    const lanes = Array.from({ length: concurrency }, async () => { while (next < count) await this.send(next++) })
    await Promise.all([Promise.all(lanes), during?.()])
  }

  /** The middle of the run: half of `count` accepted by HighLevel (the sandbox). */
  async halfway (count: number): Promise<void> {
    await waitFor('half the SMS to be sent', async () => (await this.stack.sandbox.stats()).messagesSent >= count / 2, 300_000, 50)
  }

  async outstanding (): Promise<number> {
    const [row] = await this.stack.database.sql<Array<{ n: number }>>`select count(*)::int as n from sms_messages where status in ('queued', 'sending')`
    return row!.n
  }

  /** Waits until every SMS is `sent` or `failed` (or the time is up, which the tally then shows). */
  async settle (timeoutMs = 180_000): Promise<void> {
    const started = Date.now()
    await waitFor('every SMS to be sent or failed', async () => (await this.retrying(() => this.outstanding())) === 0, timeoutMs, 500)
      .catch(async (err) => say(`${this.name}: ${(err as Error).message}; ${await this.outstanding().catch(() => '?')} still open`))
    say(`${this.name}: settled in ${Math.round((Date.now() - started) / 1000)} s`)
  }

  private async retrying<T> (fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try { return await fn() } catch (err) { if (i > 20) throw err; await sleep(500) }
    }
  }

  /** What the refresh drills are judged by: HighLevel's refusals and the clients that would need reconnecting. */
  async refreshTally (): Promise<Pick<DrillTally, 'invalid_grants' | 'needs_reauth'> & { notes: Record<string, unknown> }> {
    const stats = await this.stack.sandbox.stats()
    const { sql } = this.stack.database
    const [reauth] = await sql<Array<{ n: number }>>`select count(*)::int as n from ghl_integrations where status = 'needs_reauth'`
    // Waiting: kept for the version still stored (not applied yet). Stale: kept for a version written over
    // since (a keep that landed late; harmless, removed by the client's next refresh).
    const [kept] = await sql<Array<{ waiting: number, stale: number }>>`select
        count(*) filter (where a.replaces_version = i.token_version and i.is_active)::int as waiting,
        count(*) filter (where a.replaces_version < i.token_version)::int as stale
      from token_refresh_answers a join ghl_integrations i on i.id = a.integration_id`
    return {
      invalid_grants: stats.invalidGrants,
      needs_reauth: reauth!.n,
      notes: { refreshes: stats.refreshes, keptAnswersWaiting: kept!.waiting, staleKeptAnswers: kept!.stale, refreshLog: this.refreshLog() },
    }
  }

  /** How often the workers took each durable path of the refresh, from their logs. */
  private refreshLog (): Record<string, number> {
    const paths = {
      keptInRedis: 'could not keep the refresh answer in PostgreSQL; keeping it in Redis',
      writeFailedAnswerKept: 'HighLevel refreshed the token but the write failed; the kept answer is applied by the next refresh',
      keptAnswerApplied: 'applied a kept refresh answer instead of spending the refresh token again',
      waitedAtFenceAfterLockLoss: 'another process holds the refresh lease although this one holds the refresh lock (its Redis key was lost): waiting for it instead of spending the refresh token',
      keptNowhere: 'neither PostgreSQL nor Redis kept the refresh answer: it lives only in this process until its write lands',
    }
    const counts = Object.fromEntries(Object.keys(paths).map((k) => [k, 0])) as Record<keyof typeof paths, number>
    for (const file of readdirSync(this.stack.dir).filter((f) => /^worker-\d+\.log$/.test(f))) {
      for (const line of readFileSync(join(this.stack.dir, file), 'utf8').split('\n')) {
        for (const [key, msg] of Object.entries(paths) as Array<[keyof typeof paths, string]>) if (line.includes(msg)) counts[key]++
      }
    }
    return counts
  }

  async tally (extra: Partial<DrillTally> = {}): Promise<DrillTally> {
    const record = await this.stack.sandbox.messages()
    const seen = new Map<string, number>()
    for (const m of record) if (m.body.startsWith(`drill ${this.name} `)) seen.set(m.body, (seen.get(m.body) ?? 0) + 1)
    const requested = new Set(this.bodies)
    const sent = [...requested].filter((b) => seen.has(b)).length
    const duplicated = [...seen.values()].reduce((sum, c) => sum + c - 1, 0)
    const rows = await this.stack.database.sql<Array<{ body: string, status: string, error_code: string | null, attempts: number }>>`select body, status, error_code, attempts from sms_messages`
    const failedReported: Record<string, number> = {}
    const statuses: Record<string, number> = {}
    for (const r of rows) {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1
      if (!seen.has(r.body) && r.status === 'failed') failedReported[r.error_code ?? 'unknown'] = (failedReported[r.error_code ?? 'unknown'] ?? 0) + 1
    }
    // Sent by HighLevel, yet the outbox says failed (the CRM was told it may not have arrived), by code.
    const failedButDelivered: Record<string, number> = {}
    for (const r of rows) if (r.status === 'failed' && seen.has(r.body)) failedButDelivered[r.error_code ?? 'unknown'] = (failedButDelivered[r.error_code ?? 'unknown'] ?? 0) + 1
    const stats = await this.stack.sandbox.stats()
    return {
      drill: this.name,
      sms_requested: requested.size,
      sms_sent: sent,
      lost: requested.size - sent,
      duplicated,
      delivery_unknown: rows.filter((r) => r.status === 'failed' && r.error_code === 'delivery_unknown').length,
      failed_reported: failedReported,
      ...extra,
      // More than one POST: retried after an answer that proved nothing was sent, or sent again once HighLevel, asked, did not have it.
      notes: { accepted: this.channels, emailSent: [...requested].filter((b) => b.includes(' email ') && seen.has(b)).length, outboxStatuses: statuses, failedButDelivered, sentAfterMoreThanOnePost: rows.filter((r) => r.status === 'sent' && r.attempts > 1).length, apiAnswers: this.responses, sandbox: stats, ...extra.notes },
    }
  }

  async close (): Promise<void> {
    await this.agent.close()
    // DRILL_KEEP=1 keeps the run's folder (each process's log) for a post-mortem.
    await this.stack.close({ keep: process.env.DRILL_KEEP === '1' })
  }
}
