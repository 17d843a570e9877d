import { and, asc, eq, gt, inArray, lt, ne, or, sql } from 'drizzle-orm'
import type { Placeholder, SQL } from 'drizzle-orm'
import type { Database, Transaction } from '../database.ts'
import { crmEventOf } from '../domain/crm-events.ts'
import { sendsWithOAuth } from '../domain/sending.ts'
import type { CrmEventsRepository } from './crm-events.ts'
import { ghlIntegrations, smsMessages, type SmsMessageRow } from '../schema/index.ts'

export type OutboxMessage = SmsMessageRow

/** Exactly one of the three, as the CRM asked. */
export type Recipient = { contactId: string } | { phone: string } | { name: string }

export interface NewOutboxMessage {
  clientId: string
  /** null when the legacy PIT sends for a client without an OAuth connection. */
  integrationId: string | null
  idempotencyKey: string | null
  to: Recipient
  body: string
}

export interface OutboxFailure { code: string, message: string }

export const recipientOf = (m: Pick<OutboxMessage, 'contactId' | 'phone' | 'contactName'>): Recipient =>
  m.contactId !== null ? { contactId: m.contactId } : m.phone !== null ? { phone: m.phone } : { name: m.contactName ?? '' }

/** The columns `markSent` writes, from values or from a prepared statement's placeholders. */
const sentColumns = (v: { messageId: SQL | string | null, conversationId: SQL | string | null, now: SQL | Date }) => ({
  status: 'sent' as const,
  attempts: sql`${smsMessages.attempts} + 1`,
  ghlMessageId: v.messageId,
  ghlConversationId: v.conversationId,
  errorCode: null,
  errorMessage: null,
  sentAt: v.now,
  updatedAt: v.now,
})
/** An answer that arrives is the truth: it wins over anything but `sent`. */
const notYetSent = (id: Placeholder | string) => and(eq(smsMessages.id, id), ne(smsMessages.status, 'sent'))

/**
 * The SMS outbox. Every status change is conditional on the status the caller saw, so two
 * processes holding the same job (a stalled one and its retry) cannot both move a message on.
 *
 * With an events outbox (CRM events configured), the outcome (`sent`, `failed`) and its event
 * for the CRM are written in one transaction: an outcome is never stored without its event.
 */
export class SmsMessagesRepository {
  // The worker's per-SMS statements, built once: building drizzle queries per call was a fifth of
  // the worker's CPU (docs/benchmarks.md).
  private readonly hot

  constructor (private readonly db: Database, private readonly events: CrmEventsRepository | null = null) {
    const id = sql.placeholder('id')
    // drizzle hands placeholder values to the driver as they are: timestamps go as ISO strings
    const param = (name: string) => sql`${sql.placeholder(name)}`
    this.hot = {
      byId: db.select().from(smsMessages).where(eq(smsMessages.id, id)).limit(1).prepare('sms_by_id'),
      markSending: db.update(smsMessages).set({ status: 'sending', updatedAt: param('now') })
        .where(and(eq(smsMessages.id, id), eq(smsMessages.status, 'queued'))).returning({ id: smsMessages.id }).prepare('sms_mark_sending'),
      markSent: db.update(smsMessages).set(sentColumns({ messageId: param('messageId'), conversationId: param('conversationId'), now: param('now') }))
        .where(notYetSent(id)).returning().prepare('sms_mark_sent'),
    }
  }

  /**
   * Writes the message, or returns the one already stored under the same (client, idempotency
   * key) with `created: false`: the CRM retrying a request gets the first answer, nothing is sent twice.
   */
  async insertOnce (message: NewOutboxMessage): Promise<{ message: OutboxMessage, created: boolean }> {
    const { to } = message
    const [row] = await this.db.insert(smsMessages).values({
      clientId: message.clientId,
      integrationId: message.integrationId,
      idempotencyKey: message.idempotencyKey,
      contactId: 'contactId' in to ? to.contactId : null,
      phone: 'phone' in to ? to.phone : null,
      contactName: 'name' in to ? to.name : null,
      body: message.body,
    }).onConflictDoNothing({ target: [smsMessages.clientId, smsMessages.idempotencyKey] }).returning()
    if (row) return { message: row, created: true }
    const [existing] = await this.db.select().from(smsMessages).where(and(
      eq(smsMessages.clientId, message.clientId), eq(smsMessages.idempotencyKey, message.idempotencyKey ?? ''))).limit(1)
    if (!existing) throw new Error('sms_messages: idempotency conflict without a stored row')
    return { message: existing, created: false }
  }

  /**
   * The intake's fast path, one round trip: writes the message only if the client can send by
   * OAuth (`sendsWithOAuth`, the SQL half of domain/sending.ts) and the idempotency key is new.
   * null means "look closer" (not connected, needs re-authorisation, the legacy PIT, or a repeated
   * key): the caller takes the slow path.
   */
  async insertForConnectedClient (message: Omit<NewOutboxMessage, 'integrationId'>): Promise<{ id: string } | null> {
    const { to } = message
    const rows = await this.db.execute<{ id: string }>(sql`
      insert into sms_messages (client_id, integration_id, idempotency_key, contact_id, phone, contact_name, body)
      select ${message.clientId}, ${ghlIntegrations.id}, ${message.idempotencyKey}, ${'contactId' in to ? to.contactId : null},
        ${'phone' in to ? to.phone : null}, ${'name' in to ? to.name : null}, ${message.body}
      from ghl_integrations
      where ${ghlIntegrations.clientId} = ${message.clientId} and ${sendsWithOAuth}
      limit 1
      on conflict (client_id, idempotency_key) do nothing
      returning id`)
    return rows[0] ?? null
  }

  async findByIdempotencyKey (clientId: string, idempotencyKey: string): Promise<OutboxMessage | null> {
    const [row] = await this.db.select().from(smsMessages)
      .where(and(eq(smsMessages.clientId, clientId), eq(smsMessages.idempotencyKey, idempotencyKey))).limit(1)
    return row ?? null
  }

  async findById (id: string): Promise<OutboxMessage | null> {
    const [row] = await this.hot.byId.execute({ id })
    return row ?? null
  }

  /** queued -> sending, just before the POST; false when someone else moved it first. */
  async markSending (id: string): Promise<boolean> {
    const rows = await this.hot.markSending.execute({ id, now: new Date().toISOString() })
    return rows.length === 1
  }

  /** HighLevel accepted it (with `sms.sent` for the CRM). Wins over anything but `sent`: an answer that arrives is the truth. */
  async markSent (id: string, ids: { messageId: string | null, conversationId: string | null }): Promise<OutboxMessage | null> {
    if (!this.events) {
      const [row] = await this.hot.markSent.execute({ id, messageId: ids.messageId, conversationId: ids.conversationId, now: new Date().toISOString() })
      return row ?? null
    }
    return this.withEvent(crmEventOf.smsSent, async (tx) => {
      const [row] = await tx.update(smsMessages).set(sentColumns({ ...ids, now: new Date() })).where(notYetSent(id)).returning()
      return row
    })
  }

  /**
   * sending -> queued after an answer that proves nothing was sent (5xx, 429, a refused
   * connection). `countAttempt` is false for a 429: waiting for the rate limit is not a try.
   */
  async backToQueued (id: string, opts: { countAttempt: boolean, failure?: OutboxFailure }): Promise<OutboxMessage | null> {
    const [row] = await this.db.update(smsMessages).set({
      status: 'queued',
      attempts: opts.countAttempt ? sql`${smsMessages.attempts} + 1` : smsMessages.attempts,
      ...(opts.failure ? { errorCode: opts.failure.code, errorMessage: opts.failure.message } : {}),
      updatedAt: new Date(),
    }).where(and(eq(smsMessages.id, id), eq(smsMessages.status, 'sending'))).returning()
    return row ?? null
  }

  /** Records a try that failed before the POST (token, recipient lookup), without leaving `queued`. */
  async recordAttempt (id: string, failure: OutboxFailure): Promise<OutboxMessage | null> {
    const [row] = await this.db.update(smsMessages).set({
      attempts: sql`${smsMessages.attempts} + 1`, errorCode: failure.code, errorMessage: failure.message, updatedAt: new Date(),
    }).where(and(eq(smsMessages.id, id), eq(smsMessages.status, 'queued'))).returning()
    return row ?? null
  }

  /** Failed for good. `countAttempt` when the failure was HighLevel's answer to a POST. */
  async markFailed (id: string, failure: OutboxFailure, opts: { countAttempt?: boolean } = {}): Promise<OutboxMessage | null> {
    return this.withEvent(crmEventOf.smsFailed, async (tx) => {
      const [row] = await tx.update(smsMessages).set({
        status: 'failed',
        attempts: opts.countAttempt ? sql`${smsMessages.attempts} + 1` : smsMessages.attempts,
        errorCode: failure.code,
        errorMessage: failure.message,
        updatedAt: new Date(),
      }).where(and(eq(smsMessages.id, id), inArray(smsMessages.status, ['queued', 'sending']))).returning()
      return row
    })
  }

  /** Runs an outcome write and, when it changed a row and events are on, records its event in the same transaction. */
  private async withEvent (eventOf: typeof crmEventOf.smsSent | typeof crmEventOf.smsFailed,
    write: (tx: Database | Transaction) => Promise<OutboxMessage | undefined>): Promise<OutboxMessage | null> {
    const { events } = this
    if (!events) return (await write(this.db)) ?? null
    return this.db.transaction(async (tx) => {
      const row = await write(tx)
      if (row) await events.record(eventOf(row), tx)
      return row ?? null
    })
  }

  /**
   * One page of messages the reconciler must check: `queued` ones created before `queuedBefore`
   * and `sending` ones untouched since `sendingBefore`, in (createdAt, id) order. Both halves
   * are served by partial indexes, so this stays cheap however large the history grows.
   */
  async listStale (opts: { queuedBefore: Date, sendingBefore: Date, limit: number, after?: { createdAt: Date, id: string } }): Promise<Array<Pick<OutboxMessage, 'id' | 'clientId' | 'status' | 'createdAt'>>> {
    const t = smsMessages
    const after = opts.after ? or(gt(t.createdAt, opts.after.createdAt), and(eq(t.createdAt, opts.after.createdAt), gt(t.id, opts.after.id))) : undefined
    return this.db.select({ id: t.id, clientId: t.clientId, status: t.status, createdAt: t.createdAt }).from(t).where(and(
      or(
        and(eq(t.status, 'queued'), lt(t.createdAt, opts.queuedBefore)),
        and(eq(t.status, 'sending'), lt(t.updatedAt, opts.sendingBefore)),
      ),
      after,
    )).orderBy(asc(t.createdAt), asc(t.id)).limit(opts.limit)
  }

  /** When the oldest message still waiting was asked for (the queue's real age), or null. */
  async oldestQueuedAt (): Promise<Date | null> {
    const [row] = await this.db.select({ createdAt: smsMessages.createdAt }).from(smsMessages)
      .where(eq(smsMessages.status, 'queued')).orderBy(asc(smsMessages.createdAt)).limit(1)
    return row?.createdAt ?? null
  }
}
