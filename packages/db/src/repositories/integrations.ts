import { randomUUID } from 'node:crypto'
import { and, asc, desc, eq, gt, inArray, isNotNull, lt, lte, ne, or, sql } from 'drizzle-orm'
import type { Database, Transaction } from '../database.ts'
import { ghlIntegrations, type IntegrationRow, type IntegrationStatus, type RefreshErrorCode } from '../schema/index.ts'
import type { TokenCipher } from '../token-cipher.ts'

/** An integration as the rest of the system sees it: tokens in plaintext, never ciphertext. */
export interface Integration extends Omit<IntegrationRow, 'accessToken' | 'refreshToken'> {
  accessToken: string | null
  refreshToken: string | null
}

export interface NewConnection {
  locationId: string
  companyId?: string | null
  locationName?: string | null
  userType: string
  scopes: string[]
  accessToken: string
  refreshToken: string | null
  expiresAt: Date
}

export interface NewTokens {
  accessToken: string
  /** HighLevel sometimes answers without one; then the stored refresh token stays... */
  refreshToken?: string | null
  /** ...unless it is dead: a location token minted through the agency replaces a spent one and has none. */
  dropRefreshToken?: boolean
  expiresAt: Date
  scopes?: string[]
}

/** A client's new connection and the location of the active one it replaced (null when it had none). */
export interface Replacement {
  integration: Integration
  previousLocationId: string | null
}

/** A connection an UNINSTALL ended; `clientId` is empty for an unclaimed install. */
export interface UninstalledIntegration { id: string, clientId: string, locationId: string }

export interface ExpiringIntegration { id: string, clientId: string, expiresAt: Date }

export const DEFAULT_REFRESH_WINDOW_MS = 5 * 60_000

export function isExpired (i: Pick<Integration, 'expiresAt'>, now = new Date()): boolean {
  return i.expiresAt.getTime() <= now.getTime()
}

export function needsRefresh (i: Pick<Integration, 'expiresAt'>, windowMs = DEFAULT_REFRESH_WINDOW_MS, now = new Date()): boolean {
  return i.expiresAt.getTime() - now.getTime() <= windowMs
}

const erasedTokens = { accessToken: null, refreshToken: null } as const

export class IntegrationsRepository {
  private readonly refreshWindowMs: number
  // Read for every SMS the worker sends: built once (see SmsMessagesRepository).
  private readonly activeByClient

  constructor (private readonly db: Database, private readonly cipher: TokenCipher, opts: { refreshWindowMs?: number } = {}) {
    this.refreshWindowMs = opts.refreshWindowMs ?? DEFAULT_REFRESH_WINDOW_MS
    this.activeByClient = db.select().from(ghlIntegrations)
      .where(and(eq(ghlIntegrations.clientId, sql.placeholder('clientId')), eq(ghlIntegrations.isActive, true))).limit(1)
      .prepare('integration_active_by_client')
  }

  isExpired (i: Pick<Integration, 'expiresAt'>, now = new Date()): boolean {
    return isExpired(i, now)
  }

  needsRefresh (i: Pick<Integration, 'expiresAt'>, now = new Date()): boolean {
    return needsRefresh(i, this.refreshWindowMs, now)
  }

  async findByClient (clientId: string): Promise<Integration | null> {
    if (!clientId) return null
    const [row] = await this.activeByClient.execute({ clientId })
    return row ? this.open(row) : null
  }

  /**
   * What the sending rule reads of a client (`sendingAccess`): its active integration, else its
   * newest past one, so a client whose connection ended is told apart from one that never
   * connected; null only for the latter. The active read is the prepared one; the history is read
   * only when there is none.
   */
  async findForSending (clientId: string): Promise<Integration | null> {
    const active = await this.findByClient(clientId)
    if (active || !clientId) return active
    const [past] = await this.db.select().from(ghlIntegrations).where(eq(ghlIntegrations.clientId, clientId))
      .orderBy(desc(ghlIntegrations.connectedAt)).limit(1)
    return past ? this.open(past) : null
  }

  async findById (id: string): Promise<Integration | null> {
    const [row] = await this.db.select().from(ghlIntegrations).where(eq(ghlIntegrations.id, id)).limit(1)
    return row ? this.open(row) : null
  }

  /** The active integration for a HighLevel location, claimed or not (the newest if several clients share it). */
  async findByLocationId (locationId: string): Promise<Integration | null> {
    const [row] = await this.db.select().from(ghlIntegrations)
      .where(and(eq(ghlIntegrations.locationId, locationId), eq(ghlIntegrations.isActive, true)))
      .orderBy(sql`${ghlIntegrations.connectedAt} desc`).limit(1)
    return row ? this.open(row) : null
  }

  /** `connectClient` for callers that need only the new integration (seeding, tests, bench). */
  async replaceActive (clientId: string, connection: NewConnection): Promise<Integration> {
    return (await this.connectClient(clientId, connection)).integration
  }

  /**
   * Makes `connection` the client's one active integration and says which location it replaced.
   * The previous one is deactivated with its tokens erased, in the same transaction; the advisory
   * lock serialises two callbacks for one client so neither trips over the unique index.
   */
  async connectClient (clientId: string, connection: NewConnection): Promise<Replacement> {
    if (!clientId) throw new Error('connectClient needs a client id; use saveUnclaimed for installs without one')
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`client:${clientId}`}, 0))`)
      const replaced = await tx.update(ghlIntegrations).set(this.deactivation('revoked'))
        .where(and(eq(ghlIntegrations.isActive, true), or(
          eq(ghlIntegrations.clientId, clientId),
          // an unclaimed install of the same location is superseded by this connection
          and(eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)),
        )))
        .returning({ clientId: ghlIntegrations.clientId, locationId: ghlIntegrations.locationId })
      const [row] = await tx.insert(ghlIntegrations).values(this.seal(clientId, connection)).returning()
      return { integration: this.open(row!), previousLocationId: previousOf(clientId, replaced) }
    })
  }

  /** An install that arrived without a client (started from HighLevel's marketplace), kept until claimed. */
  async saveUnclaimed (connection: NewConnection): Promise<Integration> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`location:${connection.locationId}`}, 0))`)
      await tx.update(ghlIntegrations).set(this.deactivation('revoked')).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)))
      const [row] = await tx.insert(ghlIntegrations).values(this.seal('', connection)).returning()
      return this.open(row!)
    })
  }

  /** Attaches the unclaimed install of `locationId` to `clientId`, replacing the client's active one. */
  async claim (clientId: string, locationId: string): Promise<Replacement | null> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`client:${clientId}`}, 0))`)
      const [unclaimed] = await tx.select({ id: ghlIntegrations.id }).from(ghlIntegrations).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, locationId)))
        .orderBy(sql`${ghlIntegrations.connectedAt} desc`).limit(1).for('update')
      if (!unclaimed) return null
      const replaced = await tx.update(ghlIntegrations).set(this.deactivation('revoked'))
        .where(and(eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, clientId)))
        .returning({ clientId: ghlIntegrations.clientId, locationId: ghlIntegrations.locationId })
      const [row] = await tx.update(ghlIntegrations).set({ clientId, updatedAt: new Date() })
        .where(eq(ghlIntegrations.id, unclaimed.id)).returning()
      return { integration: this.open(row!), previousLocationId: previousOf(clientId, replaced) }
    })
  }

  /**
   * An agency's (Company) connection: kept with no client and no location, one active per
   * company, refreshed by the same locked path as any token. It mints its locations' tokens.
   */
  async saveAgency (connection: NewConnection & { companyId: string }): Promise<Integration> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`company:${connection.companyId}`}, 0))`)
      await tx.update(ghlIntegrations).set(this.deactivation('revoked')).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.userType, 'Company'), eq(ghlIntegrations.companyId, connection.companyId)))
      const [row] = await tx.insert(ghlIntegrations).values(this.seal('', { ...connection, locationId: '', userType: 'Company' })).returning()
      return this.open(row!)
    })
  }

  /** The company's active agency connection, if we hold one. */
  async findAgency (companyId: string): Promise<Integration | null> {
    const [row] = await this.db.select().from(ghlIntegrations).where(and(
      eq(ghlIntegrations.companyId, companyId), eq(ghlIntegrations.userType, 'Company'), eq(ghlIntegrations.isActive, true)))
      .orderBy(desc(ghlIntegrations.connectedAt)).limit(1)
    return row ? this.open(row) : null
  }

  /** Every company whose agency connection we hold (an INSTALL that names no company is tried against each). */
  async listAgencyCompanies (): Promise<string[]> {
    const rows = await this.db.selectDistinct({ companyId: ghlIntegrations.companyId }).from(ghlIntegrations).where(and(
      eq(ghlIntegrations.userType, 'Company'), eq(ghlIntegrations.isActive, true), isNotNull(ghlIntegrations.companyId)))
    return rows.map((r) => r.companyId!).filter(Boolean)
  }

  async setLocationName (id: string, locationName: string): Promise<void> {
    await this.db.update(ghlIntegrations).set({ locationName, lastSyncedAt: new Date(), updatedAt: new Date() }).where(eq(ghlIntegrations.id, id))
  }

  /** An active integration by its id (an agency connection has no client to find it by). */
  async findActiveById (id: string): Promise<Integration | null> {
    const found = await this.findById(id)
    return found && found.isActive ? found : null
  }

  /**
   * Writes a refreshed token pair only if nobody wrote since `readVersion` was read.
   * Returns whether this writer won; the loser must re-read instead of overwriting.
   */
  async writeTokens (id: string, readVersion: number, tokens: NewTokens): Promise<boolean> {
    const now = new Date()
    const rows = await this.db.update(ghlIntegrations).set({
      accessToken: this.cipher.encrypt(tokens.accessToken, tokenContext(id, 'access_token')),
      ...(tokens.refreshToken ? { refreshToken: this.cipher.encrypt(tokens.refreshToken, tokenContext(id, 'refresh_token')) } : {}),
      ...(tokens.dropRefreshToken && !tokens.refreshToken ? { refreshToken: null } : {}),
      ...(tokens.scopes ? { scopes: tokens.scopes } : {}),
      expiresAt: tokens.expiresAt,
      tokenVersion: sql`${ghlIntegrations.tokenVersion} + 1`,
      status: 'active',
      refreshFailures: 0,
      lastError: null,
      lastErrorCode: null,
      lastErrorAt: null,
      lastRefreshedAt: now,
      updatedAt: now,
    }).where(and(eq(ghlIntegrations.id, id), eq(ghlIntegrations.tokenVersion, readVersion), eq(ghlIntegrations.isActive, true)))
      .returning({ id: ghlIntegrations.id })
    return rows.length === 1
  }

  /**
   * Records a failed refresh: one more failure, and how and when the last one failed (the next
   * good refresh clears them, `writeTokens`). `status` moves the integration out of `active`
   * (needs_reauth, location_inactive); without a `code`, the one its status implies. Conditional
   * on the version too: a sibling's newer token wins over our failure.
   */
  async recordRefreshFailure (id: string, readVersion: number,
    failure: { error: string, status?: IntegrationStatus, code?: RefreshErrorCode }): Promise<boolean> {
    const now = new Date()
    const code = failure.code ?? (failure.status === 'needs_reauth' ? 'invalid_grant' : failure.status === 'location_inactive' ? 'location_inactive' : 'transient')
    const rows = await this.db.update(ghlIntegrations).set({
      refreshFailures: sql`${ghlIntegrations.refreshFailures} + 1`,
      lastErrorCode: code,
      lastError: failure.error.slice(0, 500),
      lastErrorAt: now,
      ...(failure.status ? { status: failure.status } : {}),
      updatedAt: now,
    }).where(and(eq(ghlIntegrations.id, id), eq(ghlIntegrations.tokenVersion, readVersion)))
      .returning({ id: ghlIntegrations.id })
    return rows.length === 1
  }

  /** Disconnects the client: inactive, tokens erased. Returns whether there was anything to disconnect. */
  async deactivate (clientId: string, status: IntegrationStatus = 'revoked'): Promise<boolean> {
    if (!clientId) return false
    const rows = await this.db.update(ghlIntegrations).set(this.deactivation(status))
      .where(and(eq(ghlIntegrations.clientId, clientId), eq(ghlIntegrations.isActive, true)))
      .returning({ id: ghlIntegrations.id })
    return rows.length > 0
  }

  /**
   * HighLevel said the app was uninstalled from a location, or from a whole company (every
   * location of it): the active rows there connected no later than `uninstalledAt` go. A
   * connection made after the uninstall is newer than it and stays (a retried, old UNINSTALL
   * must not end it). `beforeCommit` runs inside the transaction (`tx`), with the rows locked: if
   * it throws (the CRM's event could not be recorded), nothing changes and a retry does it all again.
   */
  async deactivateUninstalled (scope: { locationId: string } | { companyId: string }, uninstalledAt: Date,
    beforeCommit: (removed: UninstalledIntegration[], tx: Transaction) => Promise<void>): Promise<UninstalledIntegration[]> {
    const t = ghlIntegrations
    const where = and(
      'locationId' in scope ? eq(t.locationId, scope.locationId) : eq(t.companyId, scope.companyId),
      eq(t.isActive, true),
      lte(t.connectedAt, uninstalledAt),
    )
    return this.db.transaction(async (tx) => {
      const removed = await tx.select({ id: t.id, clientId: t.clientId, locationId: t.locationId }).from(t).where(where).for('update')
      if (removed.length === 0) return removed
      await beforeCommit(removed, tx)
      await tx.update(t).set(this.deactivation('revoked')).where(inArray(t.id, removed.map((r) => r.id)))
      return removed
    })
  }

  /**
   * One page of active, refreshable integrations expiring before `before`, in (expiresAt, id)
   * order; pass the last row back as `after` for the next page. Its predicate is the one of the
   * partial index ghl_integrations_refresh_due and it reads only that index's columns, so
   * PostgreSQL answers it with an index-only scan; the row comparison keeps the next page a
   * range scan from the cursor.
   */
  async listExpiring (before: Date, limit: number, after?: ExpiringIntegration): Promise<ExpiringIntegration[]> {
    const t = ghlIntegrations
    return this.db.select({ id: t.id, clientId: t.clientId, expiresAt: t.expiresAt }).from(t).where(and(
      eq(t.isActive, true),
      lt(t.expiresAt, before),
      ne(t.clientId, ''),
      ne(t.status, 'needs_reauth'),
      isNotNull(t.refreshToken),
      after ? sql`(${t.expiresAt}, ${t.id}) > (${after.expiresAt.toISOString()}::timestamptz, ${after.id}::uuid)` : undefined,
    )).orderBy(asc(t.expiresAt), asc(t.id)).limit(limit)
  }

  /**
   * Re-encrypts every stored token under the primary key. The write is conditional on the row
   * being unchanged and does not bump token_version: a refresh in flight must still win its
   * version-checked write, or its new single-use refresh token would be lost.
   */
  async rotateKeys (batchSize = 500): Promise<{ rotated: number, alreadyPrimary: number, changedMeanwhile: number }> {
    const t = ghlIntegrations
    const result = { rotated: 0, alreadyPrimary: 0, changedMeanwhile: 0 }
    let lastId: string | undefined
    for (;;) {
      const rows = await this.db.select({ id: t.id, tokenVersion: t.tokenVersion, accessToken: t.accessToken, refreshToken: t.refreshToken })
        .from(t).where(and(or(isNotNull(t.accessToken), isNotNull(t.refreshToken)), lastId ? gt(t.id, lastId) : undefined))
        .orderBy(asc(t.id)).limit(batchSize)
      if (rows.length === 0) return result
      lastId = rows[rows.length - 1]!.id
      for (const row of rows) {
        const stale = [row.accessToken, row.refreshToken].some((v) => v !== null && !this.cipher.isUnderPrimary(v))
        if (!stale) { result.alreadyPrimary++; continue }
        const reseal = (value: string | null, column: TokenColumn) =>
          value === null ? null : this.cipher.encrypt(this.cipher.decrypt(value, tokenContext(row.id, column)), tokenContext(row.id, column))
        const updated = await this.db.update(t).set({
          accessToken: reseal(row.accessToken, 'access_token'),
          refreshToken: reseal(row.refreshToken, 'refresh_token'),
        }).where(and(
          eq(t.id, row.id), eq(t.tokenVersion, row.tokenVersion),
          sql`${t.accessToken} is not distinct from ${row.accessToken}`,
          sql`${t.refreshToken} is not distinct from ${row.refreshToken}`,
        )).returning({ id: t.id })
        if (updated.length === 1) result.rotated++
        else result.changedMeanwhile++
      }
    }
  }

  private deactivation (status: IntegrationStatus) {
    return {
      ...erasedTokens,
      isActive: false,
      status,
      tokenVersion: sql`${ghlIntegrations.tokenVersion} + 1`,
      updatedAt: new Date(),
    }
  }

  private seal (clientId: string, c: NewConnection) {
    const id = randomUUID()
    return {
      id,
      clientId,
      locationId: c.locationId,
      companyId: c.companyId ?? null,
      locationName: c.locationName ?? null,
      userType: c.userType,
      scopes: c.scopes,
      accessToken: this.cipher.encrypt(c.accessToken, tokenContext(id, 'access_token')),
      refreshToken: c.refreshToken ? this.cipher.encrypt(c.refreshToken, tokenContext(id, 'refresh_token')) : null,
      expiresAt: c.expiresAt,
      lastSyncedAt: c.locationName ? new Date() : null,
    }
  }

  private open (row: IntegrationRow): Integration {
    return {
      ...row,
      accessToken: row.accessToken === null ? null : this.cipher.decrypt(row.accessToken, tokenContext(row.id, 'access_token')),
      refreshToken: row.refreshToken === null ? null : this.cipher.decrypt(row.refreshToken, tokenContext(row.id, 'refresh_token')),
    }
  }
}

/** Of the rows a connection deactivated, the client's own (not an unclaimed install of the same location). */
const previousOf = (clientId: string, replaced: Array<{ clientId: string, locationId: string }>): string | null =>
  replaced.find((r) => r.clientId === clientId)?.locationId ?? null

type TokenColumn = 'access_token' | 'refresh_token'
const tokenContext = (id: string, column: TokenColumn) => `ghl_integrations/${id}/${column}`
