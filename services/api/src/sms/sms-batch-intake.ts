/**
 * Batch intake: up to 1,000 messages in one request. Each message is checked on its own (a bad
 * one is answered with its error, the others go ahead); the new rows are written by one INSERT
 * (one transaction; ON CONFLICT on (client, idempotency key)), then their jobs are queued by one
 * BullMQ `addBulk` with the per-client fairness priorities. As with POST /api/sms, PostgreSQL is
 * the record: if Redis refuses the jobs, the rows stand and the outbox reconciler queues them.
 *
 * Idempotency is per message, as for a single SMS: a key already stored answers that message's
 * id and status (posting the same batch again creates nothing), and a key stored, or used earlier
 * in the same batch, for a different message is that message's `idempotency_key_reused`.
 *
 * Send time, quiet hours and sender number follow SmsScheduling, the rule POST /api/sms uses,
 * with each client's settings read once for the batch.
 */
import type { IntegrationsRepository, MessageChannel, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { sendingAccess } from '@ghl-connect/db'
import { isAppError, sendingRefused, type AppError } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { Metrics } from '@ghl-connect/metrics'
import type { SmsDispatcher } from '@ghl-connect/queues'
import { Compile } from 'typebox/compile'
import { SmsBatchItem, type SmsBatchAccepted, type SmsBatchResult } from '../schemas/sms.ts'
import type { CheckedSendRequest, SendPlan, SendRequest, SmsScheduling } from './scheduling.ts'
import { keyReused, sameMessage, validRecipient, type OutboxRequest } from './sms-intake.ts'

/**
 * What a batch of one channel's messages is: each item's schema, and the message it is for the
 * outbox (its recipient, body and, for an email, its parts; a bad one throws its 400). The rest of
 * the batch (idempotency, access, one INSERT, one addBulk) is the same for SMS and email.
 */
export interface BatchKind {
  channel: MessageChannel
  schema: ReturnType<typeof Compile>
  read: (item: never) => Pick<OutboxRequest, 'to' | 'body' | 'email'>
  /** The single route whose body each item is shaped like, for the errors. */
  route: string
}

export const smsBatchKind: BatchKind = {
  channel: 'sms',
  schema: Compile(SmsBatchItem),
  read: (item: SmsBatchItem) => ({ to: validRecipient(item), body: item.message }),
  route: 'POST /api/sms',
}

/** A message that passed its own checks, waiting for its outcome. */
interface Candidate extends Pick<OutboxRequest, 'to' | 'body' | 'email'> { index: number, clientId: string, idempotencyKey: string, asked: CheckedSendRequest }

/** A message whose sendAt has passed: refused, unless its key is stored (a batch posted again after that time). */
interface Late { candidate: Omit<Candidate, 'asked'>, error: ItemError }

type ItemError = NonNullable<SmsBatchResult['error']>

const keyOf = (m: { clientId: string, idempotencyKey: string | null }) => `${m.clientId}\n${m.idempotencyKey ?? ''}`

export interface SmsBatchIntakeDeps {
  integrations: IntegrationsRepository
  messages: SmsMessagesRepository
  dispatcher: SmsDispatcher
  scheduling: SmsScheduling
  logger: Logger
  legacyPitFallback: boolean
  metrics?: Metrics
  /** Default: SMS. */
  kind?: BatchKind
}

export class SmsBatchIntake {
  private readonly integrations
  private readonly messages
  private readonly dispatcher
  private readonly kind: BatchKind

  constructor (private readonly deps: SmsBatchIntakeDeps) {
    ({ integrations: this.integrations, messages: this.messages, dispatcher: this.dispatcher } = deps)
    this.kind = deps.kind ?? smsBatchKind
  }

  async accept (items: unknown[], trace: { requestId?: string } = {}): Promise<SmsBatchAccepted> {
    const results: SmsBatchResult[] = new Array(items.length)
    const refuse = (index: number, error: ItemError) => { results[index] = { index, error } }
    const answer = (index: number, m: Pick<OutboxMessage, 'id' | 'status'>) => { results[index] = { index, id: m.id, status: m.status } }

    const now = new Date()
    // 1. Each message on its own, grouped by its (client, key).
    const byKey = new Map<string, Candidate[]>()
    const late: Late[] = []
    items.forEach((item, index) => {
      const checked = this.checkItem(item, index, now)
      if ('late' in checked) return late.push(checked.late)
      if ('error' in checked) return refuse(index, checked.error)
      byKey.set(keyOf(checked), [...byKey.get(keyOf(checked)) ?? [], checked])
    })

    // 2. A key already stored answers its first message (a batch posted again), whatever happened
    // since; a key new to us is written once, for its first use in the batch, and stands for its repeats.
    const stored = new Map((await this.messages.findByIdempotencyKeys([...[...byKey.values()].map((group) => group[0]!), ...late.map((l) => l.candidate)]))
      .map((m) => [keyOf(m), m]))
    for (const { candidate, error } of late) {
      const earlier = stored.get(keyOf(candidate))
      if (earlier) this.repeated(candidate, earlier, refuse, answer)
      else refuse(candidate.index, error)
    }
    const fresh: Candidate[] = []
    const repeats: Array<{ candidate: Candidate, of: Candidate }> = []
    for (const [key, [head, ...rest]] of byKey) {
      const earlier = stored.get(key)
      if (earlier) {
        for (const c of [head!, ...rest]) this.repeated(c, earlier, refuse, answer)
        continue
      }
      fresh.push(head!)
      for (const c of rest) {
        if (c.body === head!.body && JSON.stringify(c.to) === JSON.stringify(head!.to) && c.email?.subject === head!.email?.subject) repeats.push({ candidate: c, of: head! })
        else refuse(c.index, itemError(keyReusedInBatch(head!.index), 'idempotencyKey'))
      }
    }

    // 3. The one rule for "can this client send", and POST /api/sms's rule for when and from
    // which number, once per distinct client.
    const integrationOf = new Map<string, string | null>()
    const planners = new Map<string, (asked: CheckedSendRequest) => SendPlan>()
    const writable: Array<Candidate & { plan: SendPlan }> = []
    for (const clientId of new Set(fresh.map((c) => c.clientId))) {
      const access = sendingAccess(await this.integrations.findForSending(clientId), { legacyPitFallback: this.deps.legacyPitFallback })
      if (access.kind === 'refused') {
        const error = itemError(sendingRefused(access.code), 'clientId')
        for (const c of fresh) if (c.clientId === clientId) refuse(c.index, error)
      } else {
        integrationOf.set(clientId, access.kind === 'oauth' ? access.integration.id : null)
        planners.set(clientId, await this.deps.scheduling.plannerFor(clientId, now, this.kind.channel))
      }
    }
    for (const c of fresh) {
      const planOf = planners.get(c.clientId)
      if (planOf) writable.push({ ...c, plan: planOf(c.asked) })
    }

    // 4. One statement for the rows; a key another request took meanwhile is answered like a repeat.
    const written = new Map((await this.messages.insertMany(writable.map((c) => ({
      clientId: c.clientId, integrationId: integrationOf.get(c.clientId) ?? null, idempotencyKey: c.idempotencyKey, to: c.to, body: c.body, email: c.email, ...c.plan,
    })))).map((m) => [keyOf(m), m]))
    const raced = writable.filter((c) => !written.has(keyOf(c)))
    const takenMeanwhile = new Map((await this.messages.findByIdempotencyKeys(raced)).map((m) => [keyOf(m), m]))
    const created: Array<{ id: string, clientId: string, sendAt: Date | null }> = []
    for (const c of writable) {
      const row = written.get(keyOf(c))
      if (row) {
        created.push({ id: row.id, clientId: c.clientId, sendAt: c.plan.sendAt })
        answer(c.index, row)
        continue
      }
      const other = takenMeanwhile.get(keyOf(c))
      if (!other) throw new Error('sms_messages: idempotency conflict without a stored row')
      this.repeated(c, other, refuse, answer)
    }

    // 5. One addBulk for the jobs, in the order the messages came; one due later waits in the
    // outbox, and the reconciler queues it as its time nears (as for POST /api/sms).
    const due = created.filter((m) => this.deps.scheduling.queuesNow(m.sendAt, now.getTime()))
    if (due.length > 0) {
      try {
        await this.dispatcher.enqueueBulk(due, trace)
      } catch (err) {
        this.deps.logger.warn({ err, requestId: trace.requestId, messages: due.length }, 'sms batch stored but not queued (Redis); the outbox reconciler will queue it')
      }
    }
    for (const { candidate, of } of repeats) results[candidate.index] = { ...results[of.index]!, index: candidate.index }

    const accepted = results.filter((r) => 'id' in r).length
    this.deps.metrics?.smsIntake.inc({ outcome: 'accepted' }, created.length)
    this.deps.metrics?.smsIntake.inc({ outcome: 'duplicate' }, accepted - created.length)
    return { accepted, failed: results.length - accepted, results }
  }

  /** One message against its single route's rules (idempotency key required), as a candidate or its error. */
  private checkItem (item: unknown, index: number, now: Date): Candidate | { error: ItemError } | { late: Late } {
    if (!this.kind.schema.Check(item)) return { error: schemaError(this.kind, item) }
    const checked = item as SendRequest & { clientId: string, idempotencyKey: string }
    try {
      const candidate = { index, clientId: checked.clientId, idempotencyKey: checked.idempotencyKey, ...this.kind.read(item as never) }
      try {
        return { ...candidate, asked: this.deps.scheduling.check(checked, now) }
      } catch (err) {
        // As POST /api/sms: a retry whose sendAt has passed meanwhile answers the first message.
        if (isAppError(err) && err.code === 'send_at_in_past') return { late: { candidate, error: itemError(err) } }
        throw err
      }
    } catch (err) {
      if (isAppError(err)) return { error: itemError(err) }
      throw err
    }
  }

  private repeated (c: Omit<Candidate, 'asked'>, earlier: OutboxMessage, refuse: (index: number, error: ItemError) => void,
    answer: (index: number, m: OutboxMessage) => void): void {
    if (sameMessage(earlier, c)) answer(c.index, earlier)
    else refuse(c.index, itemError(keyReused(earlier.id), 'idempotencyKey'))
  }
}

/** The first thing wrong with a message, as the field at fault and a sentence (the api's wording for a bad body). */
function schemaError (kind: BatchKind, item: unknown): ItemError {
  const errors = kind.schema.Errors(item).filter((e) => e.keyword !== 'boolean')
  const e = errors[0]
  const at = (e?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')
  const within = (name: string) => at ? `${at}.${name}` : name
  if (!e || (at === '' && e.keyword === 'type')) return { code: 'invalid_request', message: `Each message must be an object shaped like the body of ${kind.route}.`, field: null }
  const params = e.params as { requiredProperties?: string[], additionalProperties?: string[] }
  if (e.keyword === 'required') {
    const field = within(params.requiredProperties?.[0] ?? '')
    return { code: 'invalid_request', message: `${field} is required${field === 'idempotencyKey' ? ' in a batch (repeat the batch with the same keys to retry it safely)' : ''}.`, field }
  }
  if (e.keyword === 'additionalProperties') {
    const field = within(params.additionalProperties?.[0] ?? '')
    return { code: 'invalid_request', message: `${field} is not a known field; remove it.`, field }
  }
  return { code: 'invalid_request', message: `${at} ${e.message}.`, field: at || null }
}

function itemError (err: AppError, field?: string): ItemError {
  const named = field ?? Object.keys(err.details?.fields ?? {})[0] ?? null
  return { code: err.code, message: err.message, field: named }
}

const keyReusedInBatch = (index: number) => keyReused(`message ${index} of this batch`)
