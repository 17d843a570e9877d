import { randomUUID } from 'node:crypto'
import { and, asc, desc, eq, getTableColumns, gt, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm'
import type { Placeholder, SQL } from 'drizzle-orm'
import type { Database, Transaction } from '../database.ts'
import { crmEventOf } from '../domain/crm-events.ts'
import { basisHoldsSql, sendsWithOAuth, type CredentialBasis, type SendingStamp } from '../domain/sending.ts'
import type { ContactDndRead } from './contact-dnd.ts'
import type { CrmEventsRepository } from './crm-events.ts'
import { deliveryStatusOf } from '../domain/delivery-status.ts'
import { SmsDeliveryStatusesRepository } from './sms-delivery-statuses.ts'
import { contactDnd, ghlIntegrations, smsMessages, type EmailOptions, type SmsMessageRow } from '../schema/index.ts'

export type OutboxMessage = SmsMessageRow

/** Exactly one, as the CRM asked: an SMS goes to a contact id, a phone number or a name; an email to a contact id, an address or a name. */
export type Recipient = { contactId: string } | { phone: string } | { name: string } | { email: string }

export interface NewOutboxMessage {
  clientId: string
  /** null when the legacy PIT sends for a client without an OAuth connection. */
  integrationId: string | null
  idempotencyKey: string | null
  to: Recipient
  body: string
  /** Not before this (scheduled, or pushed past quiet hours); null or absent: at once. */
  sendAt?: Date | null
  /** The sender number for HighLevel; null or absent: the location's own. */
  fromNumber?: string | null
  /** An email's own parts; absent: the message is an SMS. */
  email?: NewEmailParts
}

/** What makes an outbox message an email (its `body` is the HTML when `bodyIsHtml`, else the text). */
export interface NewEmailParts { subject: string, bodyIsHtml: boolean, options: EmailOptions }

/** The channel columns of a new message, null for an SMS's email fields. */
const channelColumns = (m: Pick<NewOutboxMessage, 'to' | 'email'>) => ({
  channel: m.email ? 'email' as const : 'sms' as const,
  email: 'email' in m.to ? m.to.email : null,
  subject: m.email?.subject ?? null,
  bodyIsHtml: m.email?.bodyIsHtml ?? null,
  emailOptions: m.email?.options ?? null,
})

export interface OutboxFailure { code: string, message: string }

/** A message as a send job reads it: `findWithStamp`. */
export interface MessageAsStored { message: OutboxMessage, stamp: SendingStamp | null, recipientDnd: ContactDndRead | null }

export const recipientOf = (m: Pick<OutboxMessage, 'contactId' | 'phone' | 'contactName' | 'email'>): Recipient =>
  m.contactId !== null ? { contactId: m.contactId } : m.phone !== null ? { phone: m.phone } : m.email !== null ? { email: m.email } : { name: m.contactName ?? '' }

/** One `sent` write of a group: HighLevel took attempt `attemptId` of message `id`, answering `ids`. */
export interface SentWrite {
  id: string
  attemptId: string
  ids: { messageId: string | null, conversationId: string | null, status?: string | null }
}

/**
 * sending -> sent for a group of attempts, one row of `sent` (an unnest of array parameters) per
 * write, each conditional on its own attempt (`currentAttempt`'s rule, per row): a row another
 * attempt or outcome moved on is left as it is and absent from the answer. `p` gives each
 * parameter: a placeholder for the prepared statement, or a value.
 */
const sentUpdate = (db: Database | Transaction, p: (name: 'ids' | 'attemptIds' | 'messageIds' | 'conversationIds' | 'statuses' | 'now') => SQL) =>
  db.update(smsMessages).set({
    status: 'sent' as const,
    attempts: sql`${smsMessages.attempts} + 1`,
    ghlMessageId: sql`sent.ghl_message_id`,
    ghlConversationId: sql`sent.ghl_conversation_id`,
    errorCode: null,
    errorMessage: null,
    sentAt: sql`${p('now')}::timestamptz`,
    updatedAt: sql`${p('now')}::timestamptz`,
    // HighLevel's answer to the send, when it gave one, is the delivery status so far.
    deliveryStatus: sql`coalesce(sent.delivery_status, ${smsMessages.deliveryStatus})`,
    deliveryUpdatedAt: sql`case when sent.delivery_status is null then ${smsMessages.deliveryUpdatedAt} else ${p('now')}::timestamptz end`,
  }).from(sql`unnest(${p('ids')}::uuid[], ${p('attemptIds')}::uuid[], ${p('messageIds')}::text[], ${p('conversationIds')}::text[], ${p('statuses')}::text[])
      as sent(id, attempt_id, ghl_message_id, ghl_conversation_id, delivery_status)`)
    .where(and(sql`${smsMessages.id} = sent.id`, eq(smsMessages.status, 'sending'), sql`${smsMessages.attemptId} = sent.attempt_id`))
    .returning(getTableColumns(smsMessages))

/**
 * One `sending` write of a group: attempt `attemptId` of message `id`, to `contactId`, begun at
 * `startedAt`, written only while the message is `queued` and, with a `basis`, while the
 * credential the attempt read still holds (`basisHoldsSql`).
 */
export interface SendingWrite {
  id: string
  attemptId: string
  contactId: string
  startedAt: Date
  basis?: CredentialBasis
}

type SendingParam = 'ids' | 'attemptIds' | 'contactIds' | 'startedAts' | 'basisKinds' | 'integrationIds' | 'tokenVersions' | 'clientIds'

/**
 * queued -> sending for a group of attempts: one row of `attempt` (an unnest of array
 * parameters) per write, each with its own conditions: `queued`, and its own basis (none,
 * `oauth`: its integration at its token version, `legacy_pit`: its client without any
 * integration). A row that fails them is left as it is and absent from the answer. Answers the
 * attempt ids written, so two writes for one message in a group are told apart.
 */
const sendingUpdate = (db: Database, p: (name: SendingParam) => SQL) =>
  db.update(smsMessages).set({
    status: 'sending' as const,
    attemptId: sql`attempt.attempt_id`,
    attemptStartedAt: sql`attempt.started_at`,
    ghlContactId: sql`attempt.contact_id`,
    outcomeUnknownAt: null,
    updatedAt: sql`attempt.started_at`,
  }).from(sql`unnest(${p('ids')}::uuid[], ${p('attemptIds')}::uuid[], ${p('contactIds')}::text[], ${p('startedAts')}::text[]::timestamptz[],
        ${p('basisKinds')}::text[], ${p('integrationIds')}::uuid[], ${p('tokenVersions')}::text[]::int[], ${p('clientIds')}::text[])
      as attempt(id, attempt_id, contact_id, started_at, basis_kind, integration_id, token_version, client_id)`)
    .where(and(sql`${smsMessages.id} = attempt.id`, eq(smsMessages.status, 'queued'), sql`case attempt.basis_kind
        when 'none' then true
        when 'oauth' then ${basisHoldsSql({ kind: 'oauth', integrationId: sql`attempt.integration_id`, tokenVersion: sql`attempt.token_version` })}
        when 'legacy_pit' then ${basisHoldsSql({ kind: 'legacy_pit', clientId: sql`attempt.client_id` })}
        else false end`))
    .returning({ attemptId: smsMessages.attemptId })

/**
 * A group's writes in the order of their message ids. PostgreSQL locks a group's rows in the
 * order of its arrays (a nested loop over the primary key), so two processes' groups holding the
 * same messages in opposite orders could each lock one and wait for the other: a deadlock that
 * fails a group. Taken in one order, the second waits for the first instead.
 */
const inIdOrder = <W extends { id: string }>(writes: W[]): W[] => [...writes].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** A message id as stored (a uuid): anything else is in no row, and must not fail a group's read with a cast error. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The row `findForSending` reads for the message's client (active, else the newest past), as a lateral join. */
const sendingRow = (db: Database) => db.select({
  id: ghlIntegrations.id,
  tokenVersion: ghlIntegrations.tokenVersion,
  sendsWithOAuth: sql<boolean>`(${sendsWithOAuth})`.as('sends_with_oauth'),
  locationId: ghlIntegrations.locationId,
  expiresAt: ghlIntegrations.expiresAt,
}).from(ghlIntegrations).where(eq(ghlIntegrations.clientId, smsMessages.clientId))
  .orderBy(desc(ghlIntegrations.isActive), desc(ghlIntegrations.connectedAt)).limit(1).as('sending_row')

/**
 * Nothing moved the message on meanwhile: a later attempt (or an outcome already written) wins.
 * A null attempt id is a row left `sending` before attempts carried ids.
 */
const currentAttempt = (id: Placeholder | string, attemptId: Placeholder | string | null) =>
  and(eq(smsMessages.id, id), eq(smsMessages.status, 'sending'),
    attemptId === null ? isNull(smsMessages.attemptId) : eq(smsMessages.attemptId, attemptId))

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
  private readonly delivery: SmsDeliveryStatusesRepository

  constructor (private readonly db: Database, private readonly events: CrmEventsRepository | null = null) {
    this.delivery = new SmsDeliveryStatusesRepository(db, events)
    const id = sql.placeholder('id')
    // drizzle hands placeholder values to the driver as they are: timestamps go as ISO strings
    const param = (name: string) => sql`${sql.placeholder(name)}`
    const stamp = sendingRow(db)
    const recipientDnd = db.select({ smsDnd: contactDnd.smsDnd, emailDnd: contactDnd.emailDnd }).from(contactDnd)
      .where(and(eq(contactDnd.locationId, stamp.locationId), eq(contactDnd.contactId, smsMessages.contactId))).limit(1).as('recipient_dnd')
    this.hot = {
      byId: db.select().from(smsMessages).where(eq(smsMessages.id, id)).limit(1).prepare('sms_by_id'),
      // One statement for a group of `sending` writes (the worker's group commit); one element each when alone.
      markSending: sendingUpdate(db, param).prepare('sms_mark_sending_many'),
      // The rows and their clients as stored (no tokens): the one read a send job starts with (a group of jobs' at once).
      // With the contact's do-not-disturb at the location it would be sent from, when the message names its contact.
      byIdsWithStamp: db.select({
        message: smsMessages,
        stamp: { integrationId: stamp.id, tokenVersion: stamp.tokenVersion, sendsWithOAuth: stamp.sendsWithOAuth, expiresAt: stamp.expiresAt },
        locationId: stamp.locationId,
        dnd: { smsDnd: recipientDnd.smsDnd, emailDnd: recipientDnd.emailDnd },
      }).from(smsMessages).leftJoinLateral(stamp, sql`true`).leftJoinLateral(recipientDnd, sql`true`)
        .where(sql`${smsMessages.id} = any(${sql.placeholder('ids')}::uuid[])`).prepare('sms_by_ids_with_stamp'),
      // One statement for a group of `sent` writes (the worker's group commit); one element each when alone.
      markSent: sentUpdate(db, param).prepare('sms_mark_sent_many'),
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
      sendAt: message.sendAt ?? null,
      fromNumber: message.fromNumber ?? null,
      ...channelColumns(message),
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
    const id = randomUUID()
    return (await this.insertManyForConnectedClients([{ ...message, id }])).has(id) ? { id } : null
  }

  /**
   * The fast path for many single requests at once (the intake's group commit): one statement,
   * one transaction, one commit for all. Each message carries the id it is written under; the
   * answer is the ids written. One absent is the caller's to look closer at, as with
   * `insertForConnectedClient` (a key repeated within the group is written once: the first).
   * Rows go in by (client, key): two groups holding the same keys in opposite orders would each
   * take one key and wait for the other's (a deadlock that fails a group); in one order the
   * second waits for the first.
   */
  async insertManyForConnectedClients (messages: Array<Omit<NewOutboxMessage, 'integrationId'> & { id: string }>): Promise<Set<string>> {
    if (messages.length === 0) return new Set()
    type M = (typeof messages)[number]
    const column = <T>(pick: (m: M) => T) => sql.param(messages.map(pick))
    const rows = await this.db.execute<{ id: string }>(sql`
      insert into sms_messages (id, client_id, integration_id, idempotency_key, contact_id, phone, contact_name, body, send_at, from_number,
        channel, email, subject, body_is_html, email_options)
      select m.id, m.client_id, connected.id, m.idempotency_key, m.contact_id, m.phone, m.contact_name, m.body, m.send_at, m.from_number,
        m.channel, m.email, m.subject, m.body_is_html, m.email_options::jsonb
      from unnest(${column((m) => m.id)}::uuid[], ${column((m) => m.clientId)}::text[], ${column((m) => m.idempotencyKey)}::text[],
        ${column((m) => 'contactId' in m.to ? m.to.contactId : null)}::text[], ${column((m) => 'phone' in m.to ? m.to.phone : null)}::text[],
        ${column((m) => 'name' in m.to ? m.to.name : null)}::text[], ${column((m) => m.body)}::text[],
        ${column((m) => m.sendAt?.toISOString() ?? null)}::text[]::timestamptz[], ${column((m) => m.fromNumber ?? null)}::text[],
        ${column((m) => channelColumns(m).channel)}::text[], ${column((m) => channelColumns(m).email)}::text[],
        ${column((m) => channelColumns(m).subject)}::text[], ${column((m) => { const html = channelColumns(m).bodyIsHtml; return html === null ? null : String(html) })}::text[]::boolean[],
        ${column((m) => { const o = channelColumns(m).emailOptions; return o === null ? null : JSON.stringify(o) })}::text[])
        with ordinality as m(id, client_id, idempotency_key, contact_id, phone, contact_name, body, send_at, from_number,
          channel, email, subject, body_is_html, email_options, n)
      cross join lateral (
        select ${ghlIntegrations.id} as id from ghl_integrations
        where ${ghlIntegrations.clientId} = m.client_id and ${sendsWithOAuth}
        limit 1
      ) connected
      order by m.client_id, m.idempotency_key, m.n
      on conflict (client_id, idempotency_key) do nothing
      returning id`)
    return new Set(rows.map((r) => r.id))
  }

  /**
   * A batch's new messages in one statement (one transaction): each written unless its
   * (client, idempotency key) is already stored. Answers the rows written; a key another request
   * took meanwhile is absent from the answer (the caller reads it with `findByIdempotencyKeys`).
   */
  async insertMany (messages: Array<NewOutboxMessage & { idempotencyKey: string }>): Promise<Array<Pick<OutboxMessage, 'id' | 'clientId' | 'idempotencyKey' | 'status'>>> {
    if (messages.length === 0) return []
    // One statement with a column of values per array parameter: fourteen parameters whatever the
    // batch's size (a VALUES list of 1,000 rows took most of a batch's time to build and send).
    // Times, booleans and JSON go as text (postgres.js cannot bind those arrays) and are cast in the statement.
    const column = <T>(pick: (m: NewOutboxMessage & { idempotencyKey: string }) => T) => sql.param(messages.map(pick))
    const rows = await this.db.execute<{ id: string, client_id: string, idempotency_key: string, status: OutboxMessage['status'] }>(sql`
      insert into sms_messages (client_id, integration_id, idempotency_key, contact_id, phone, contact_name, body, send_at, from_number,
        channel, email, subject, body_is_html, email_options)
      select m.client_id, m.integration_id, m.idempotency_key, m.contact_id, m.phone, m.contact_name, m.body, m.send_at, m.from_number,
        m.channel, m.email, m.subject, m.body_is_html, m.email_options
      from unnest(${column((m) => m.clientId)}::text[], ${column((m) => m.integrationId)}::uuid[], ${column((m) => m.idempotencyKey)}::text[],
        ${column((m) => 'contactId' in m.to ? m.to.contactId : null)}::text[], ${column((m) => 'phone' in m.to ? m.to.phone : null)}::text[],
        ${column((m) => 'name' in m.to ? m.to.name : null)}::text[], ${column((m) => m.body)}::text[],
        ${column((m) => m.sendAt?.toISOString() ?? null)}::text[]::timestamptz[], ${column((m) => m.fromNumber ?? null)}::text[],
        ${column((m) => channelColumns(m).channel)}::text[], ${column((m) => channelColumns(m).email)}::text[], ${column((m) => channelColumns(m).subject)}::text[],
        ${column((m) => m.email ? String(m.email.bodyIsHtml) : null)}::text[]::boolean[], ${column((m) => m.email ? JSON.stringify(m.email.options) : null)}::text[]::jsonb[])
        with ordinality as m(client_id, integration_id, idempotency_key, contact_id, phone, contact_name, body, send_at, from_number,
          channel, email, subject, body_is_html, email_options, n)
      -- by (client, key), as the intake's groups: no deadlock between batches holding the same keys in other orders
      order by m.client_id, m.idempotency_key, m.n
      on conflict (client_id, idempotency_key) do nothing
      returning id, client_id, idempotency_key, status`)
    return rows.map((r) => ({ id: r.id, clientId: r.client_id, idempotencyKey: r.idempotency_key, status: r.status }))
  }

  /** The messages stored under any of these (client, idempotency key) pairs, in one query. */
  async findByIdempotencyKeys (keys: Array<{ clientId: string, idempotencyKey: string }>): Promise<OutboxMessage[]> {
    if (keys.length === 0) return []
    // Two array parameters joined as a table: the unique index answers each pair (a long IN list of pairs scanned the table).
    const wanted = sql`unnest(${sql.param(keys.map((k) => k.clientId))}::text[], ${sql.param(keys.map((k) => k.idempotencyKey))}::text[]) as wanted(client_id, idempotency_key)`
    return this.db.select().from(smsMessages).innerJoin(wanted, sql`${smsMessages.clientId} = wanted.client_id and ${smsMessages.idempotencyKey} = wanted.idempotency_key`)
      .then((rows) => rows.map((r) => r.sms_messages))
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

  /**
   * queued -> sending, just before the POST, as attempt `attemptId` to `contactId`; false when
   * someone else moved it first (or, with `basis`, the credential no longer holds). The attempt's
   * start is what HighLevel is asked about if its outcome turns out unknown.
   */
  async markSending (id: string, attempt: { attemptId: string, contactId: string, startedAt: Date }, basis?: CredentialBasis): Promise<boolean> {
    const [written] = await this.markSendingMany([{ id, ...attempt, basis }])
    return written === true
  }

  /**
   * `markSending` for a group of attempts in one statement (the worker's group commit): one
   * answer per write, in order, true only where that write's own row was written as that attempt.
   */
  async markSendingMany (writes: SendingWrite[]): Promise<boolean[]> {
    if (writes.length === 0) return []
    const oauth = (w: SendingWrite) => w.basis?.kind === 'oauth' ? w.basis : null
    const ordered = inIdOrder(writes)
    const rows = await this.hot.markSending.execute({
      ids: ordered.map((w) => w.id),
      attemptIds: ordered.map((w) => w.attemptId),
      contactIds: ordered.map((w) => w.contactId),
      startedAts: ordered.map((w) => w.startedAt.toISOString()),
      basisKinds: ordered.map((w) => w.basis?.kind ?? 'none'),
      integrationIds: ordered.map((w) => oauth(w)?.integrationId ?? null),
      tokenVersions: ordered.map((w) => { const b = oauth(w); return b ? String(b.tokenVersion) : null }),
      clientIds: ordered.map((w) => w.basis?.kind === 'legacy_pit' ? w.basis.clientId : null),
    })
    const written = new Set(rows.map((r) => r.attemptId))
    return writes.map((w) => written.has(w.attemptId))
  }

  /**
   * The message and its client as stored now (`SendingStamp`: which integration at which token
   * version the sending rule would read, without reading or decrypting its tokens; null when the
   * client never connected). What a send job starts with: a cached credential whose basis no
   * longer holds (`basisHolds`) is read again before any HighLevel call. When the message names
   * its contact and the client is connected, the contact's do-not-disturb at that integration's
   * location comes with it (`recipientDnd`), so the send need not read it apart.
   */
  async findWithStamp (id: string): Promise<MessageAsStored | null> {
    return (await this.findWithStampMany([id]))[0] ?? null
  }

  /**
   * `findWithStamp` for a group of messages in one statement (the worker's jobs starting
   * together): one answer per id, in order, null where no such message is stored.
   */
  async findWithStampMany (ids: string[]): Promise<Array<MessageAsStored | null>> {
    const wanted = ids.filter((id) => UUID.test(id))
    const rows = wanted.length > 0 ? await this.hot.byIdsWithStamp.execute({ ids: wanted }) : []
    const byId = new Map(rows.map((row) => {
      // drizzle answers a left-joined object with nothing in it as null: the client never connected, or no DND was reported.
      const { message, stamp, locationId, dnd } = row
      const recipientDnd = stamp && locationId !== null && message.contactId !== null
        ? { locationId, contactId: message.contactId, smsDnd: dnd?.smsDnd ?? null, emailDnd: dnd?.emailDnd ?? null }
        : null
      return [message.id, { message, stamp, recipientDnd }]
    }))
    return ids.map((id) => byId.get(id) ?? null)
  }

  /**
   * sending -> sent: HighLevel took attempt `attemptId` (its answer, or found when asked), with
   * `sms.sent` for the CRM. Conditional on the attempt: a late attempt never overwrites a newer
   * one's outcome; null then (and no event). `status` is HighLevel's answer to the send (its
   * delivery status so far). Without an events outbox this is one prepared statement; then, the
   * write committed, a delivery report HighLevel sent before it is looked for and applied with
   * its `sms.delivery` event (write-then-read, see sms-delivery-statuses.ts): no lock, no
   * transaction per SMS.
   */
  async markSent (id: string, attemptId: string, ids: SentWrite['ids']): Promise<OutboxMessage | null> {
    return (await this.markSentMany([{ id, attemptId, ids }]))[0] ?? null
  }

  /**
   * `markSent` for a group of attempts in one statement (with an events outbox: that statement
   * and one INSERT of their events, one transaction). The answer is one element per write, in
   * order: its row as written, or null where the row had moved on (no event then). Only after
   * the commit are delivery reports that came first looked for, all in one read, and applied.
   */
  async markSentMany (writes: SentWrite[]): Promise<Array<OutboxMessage | null>> {
    if (writes.length === 0) return []
    const ordered = inIdOrder(writes)
    const values = {
      ids: ordered.map((w) => w.id),
      attemptIds: ordered.map((w) => w.attemptId),
      messageIds: ordered.map((w) => w.ids.messageId),
      conversationIds: ordered.map((w) => w.ids.conversationId),
      statuses: ordered.map((w) => deliveryStatusOf(w.ids.status) ?? null),
      now: new Date().toISOString(),
    }
    const { events } = this
    const rows = events
      ? await this.db.transaction(async (tx) => {
        const written = await sentUpdate(tx, (name) => sql`${sql.param(values[name])}`)
        if (written.length > 0) await events.recordMany(written.map((row) => crmEventOf.smsSent(row)), tx)
        return written
      })
      : await this.hot.markSent.execute(values)
    const reported = await this.delivery.afterSentMany(rows)
    const byId = new Map(rows.map((row) => [row.id, reported.get(row.id)?.message ?? row]))
    return writes.map((w) => {
      const row = byId.get(w.id)
      return row && row.attemptId === w.attemptId ? row : null
    })
  }

  /**
   * The attempt's POST ended without an answer that says whether HighLevel took it (a reset after
   * the request was written, a 502/504, a timeout): the row stays `sending` until HighLevel is asked.
   */
  async markOutcomeUnknown (id: string, attemptId: string, failure: OutboxFailure): Promise<OutboxMessage | null> {
    const now = new Date()
    const [row] = await this.db.update(smsMessages).set({
      outcomeUnknownAt: now, errorCode: failure.code, errorMessage: failure.message, updatedAt: now,
    }).where(currentAttempt(id, attemptId)).returning()
    return row ?? null
  }

  /**
   * sending -> queued when nothing was sent: HighLevel's answer proves it (5xx, 429, a refused
   * connection), or HighLevel, asked, has no such message. `countAttempt` is false for a 429:
   * waiting for the rate limit is not a try. `failure` with `retrying: true` starts the retry
   * budget's clock if it is not running yet. Conditional on the attempt.
   */
  async backToQueued (id: string, attemptId: string, opts: { countAttempt: boolean, failure?: OutboxFailure, retrying?: boolean }): Promise<OutboxMessage | null> {
    const now = new Date()
    const [row] = await this.db.update(smsMessages).set({
      status: 'queued',
      attempts: opts.countAttempt ? sql`${smsMessages.attempts} + 1` : smsMessages.attempts,
      ...(opts.failure ? { errorCode: opts.failure.code, errorMessage: opts.failure.message } : {}),
      ...(opts.retrying ? { retryingSince: sql`coalesce(${smsMessages.retryingSince}, ${now.toISOString()}::timestamptz)` } : {}),
      updatedAt: now,
    }).where(currentAttempt(id, attemptId)).returning()
    return row ?? null
  }

  /** Records a try that failed before the POST (token, recipient lookup), without leaving `queued`; starts the retry budget's clock. */
  async recordAttempt (id: string, failure: OutboxFailure): Promise<OutboxMessage | null> {
    const now = new Date()
    const [row] = await this.db.update(smsMessages).set({
      attempts: sql`${smsMessages.attempts} + 1`,
      errorCode: failure.code,
      errorMessage: failure.message,
      retryingSince: sql`coalesce(${smsMessages.retryingSince}, ${now.toISOString()}::timestamptz)`,
      updatedAt: now,
    }).where(and(eq(smsMessages.id, id), eq(smsMessages.status, 'queued'))).returning()
    return row ?? null
  }

  /**
   * Failed for good, with `sms.failed` for the CRM. From `queued` (before any POST), or, with
   * `attemptId`, from `sending` as that attempt only. `countAttempt` when the failure was
   * HighLevel's answer to a POST.
   */
  async markFailed (id: string, failure: OutboxFailure, opts: { attemptId?: string | null, countAttempt?: boolean } = {}): Promise<OutboxMessage | null> {
    return this.withEvent(crmEventOf.smsFailed, async (tx) => {
      const [row] = await tx.update(smsMessages).set({
        status: 'failed',
        attempts: opts.countAttempt ? sql`${smsMessages.attempts} + 1` : smsMessages.attempts,
        errorCode: failure.code,
        errorMessage: failure.message,
        updatedAt: new Date(),
      }).where(opts.attemptId !== undefined
        ? currentAttempt(id, opts.attemptId)
        : and(eq(smsMessages.id, id), eq(smsMessages.status, 'queued'))).returning()
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
   * Of the HighLevel message ids given, those already recorded for a message other than `id`:
   * when HighLevel is asked whether an SMS went out, another outbox row's SMS with the same text
   * to the same contact is not this one.
   */
  async claimedElsewhere (id: string, ghlMessageIds: string[]): Promise<Set<string>> {
    if (ghlMessageIds.length === 0) return new Set()
    const rows = await this.db.select({ ghlMessageId: smsMessages.ghlMessageId }).from(smsMessages)
      .where(and(inArray(smsMessages.ghlMessageId, ghlMessageIds), ne(smsMessages.id, id)))
    return new Set(rows.map((r) => r.ghlMessageId ?? ''))
  }

  /**
   * Whether another message with the same text to the same contact must be settled before this
   * one's attempt can be judged from HighLevel's list, where the two look alike: one whose attempt
   * may still be live (begun after `liveSince`, its outcome not yet unknown), whose SMS HighLevel
   * may have taken without our record of it yet; or an older one being judged, which goes first
   * (so two never take the same HighLevel message).
   */
  async twinUnsettled (message: Pick<OutboxMessage, 'id' | 'clientId' | 'body' | 'ghlContactId' | 'attemptStartedAt'>, liveSince: Date): Promise<boolean> {
    if (!message.ghlContactId || !message.attemptStartedAt) return false
    const t = smsMessages
    const [row] = await this.db.select({ id: t.id }).from(t).where(and(
      eq(t.status, 'sending'), eq(t.clientId, message.clientId), eq(t.ghlContactId, message.ghlContactId), eq(t.body, message.body), ne(t.id, message.id),
      or(
        and(isNull(t.outcomeUnknownAt), gt(t.attemptStartedAt, liveSince)),
        sql`(${t.attemptStartedAt}, ${t.id}) < (${message.attemptStartedAt.toISOString()}::timestamptz, ${message.id}::uuid)`,
      ),
    )).limit(1)
    return row !== undefined
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
        // Scheduled messages are the release path's (listScheduledDue).
        and(eq(t.status, 'queued'), isNull(t.sendAt), lt(t.createdAt, opts.queuedBefore)),
        and(eq(t.status, 'sending'), lt(t.updatedAt, opts.sendingBefore)),
      ),
      after,
    )).orderBy(asc(t.createdAt), asc(t.id)).limit(opts.limit)
  }

  /**
   * The release path: scheduled messages still `queued` that are due before `dueBefore`, written
   * before `createdBefore` (the intake queues its own), in (sendAt, id) order, from the partial
   * index on send_at: messages due far later cost nothing here.
   */
  async listScheduledDue (opts: { dueBefore: Date, createdBefore: Date, limit: number, after?: { sendAt: Date | null, id: string } }): Promise<Array<Pick<OutboxMessage, 'id' | 'clientId' | 'sendAt'>>> {
    const t = smsMessages
    const afterAt = opts.after?.sendAt
    const after = opts.after && afterAt ? or(gt(t.sendAt, afterAt), and(eq(t.sendAt, afterAt), gt(t.id, opts.after.id))) : undefined
    return this.db.select({ id: t.id, clientId: t.clientId, sendAt: t.sendAt }).from(t).where(and(
      eq(t.status, 'queued'), sql`${t.sendAt} is not null`, lt(t.sendAt, opts.dueBefore), lt(t.createdAt, opts.createdBefore), after,
    )).orderBy(asc(t.sendAt), asc(t.id)).limit(opts.limit)
  }

  /**
   * queued -> cancelled. null when the message is not `queued` (any more): an attempt holds it,
   * or it already ended. The worker moves only `queued` rows on, so a cancelled one is never sent.
   */
  async cancel (id: string, channel?: OutboxMessage['channel']): Promise<OutboxMessage | null> {
    const [row] = await this.db.update(smsMessages).set({ status: 'cancelled', updatedAt: new Date() })
      .where(and(eq(smsMessages.id, id), eq(smsMessages.status, 'queued'), channel ? eq(smsMessages.channel, channel) : undefined)).returning()
    return row ?? null
  }

  /** Moves a waiting message's time (quiet hours, as set at release); false when it is no longer `queued`. */
  async reschedule (id: string, sendAt: Date): Promise<boolean> {
    const rows = await this.db.update(smsMessages).set({ sendAt, updatedAt: new Date() })
      .where(and(eq(smsMessages.id, id), eq(smsMessages.status, 'queued'))).returning({ id: smsMessages.id })
    return rows.length === 1
  }

  /** When the oldest message still waiting was asked for (the queue's real age), or null. */
  async oldestQueuedAt (): Promise<Date | null> {
    const [row] = await this.db.select({ createdAt: smsMessages.createdAt }).from(smsMessages)
      .where(and(eq(smsMessages.status, 'queued'), or(isNull(smsMessages.sendAt), lte(smsMessages.sendAt, sql`now()`)))).orderBy(asc(smsMessages.createdAt)).limit(1)
    return row?.createdAt ?? null
  }
}
