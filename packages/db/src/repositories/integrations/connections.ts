/**
 * Connecting and disconnecting: a client's connection (replacing its active one), an install
 * kept until claimed, a claim, an agency's connection, and the ends (disconnect, UNINSTALL).
 * Each write that replaces rows does it in one transaction behind an advisory lock, so two
 * callbacks for one client (or location, or company) never trip over each other.
 */
import { and, eq, inArray, lte, or, sql } from 'drizzle-orm'
import type { Database, Transaction } from '../../database.ts'
import { ghlIntegrations, type IntegrationStatus } from '../../schema/index.ts'
import type { Integration, NewConnection, SealedRows } from './sealed-rows.ts'

/** A client's new connection and the location of the active one it replaced (null when it had none). */
export interface Replacement {
  integration: Integration
  previousLocationId: string | null
}

/** A connection an UNINSTALL ended; `clientId` is empty for an unclaimed install. */
export interface UninstalledIntegration { id: string, clientId: string, locationId: string }

export class IntegrationConnections {
  constructor (private readonly db: Database, private readonly rows: SealedRows) {}

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
      await lock(tx, `client:${clientId}`)
      const replaced = await tx.update(ghlIntegrations).set(this.rows.deactivation('revoked'))
        .where(and(eq(ghlIntegrations.isActive, true), or(
          eq(ghlIntegrations.clientId, clientId),
          // an unclaimed install of the same location is superseded by this connection
          and(eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)),
        )))
        .returning({ clientId: ghlIntegrations.clientId, locationId: ghlIntegrations.locationId })
      const [row] = await tx.insert(ghlIntegrations).values(this.rows.seal(clientId, connection)).returning()
      return { integration: this.rows.open(row!), previousLocationId: previousOf(clientId, replaced) }
    })
  }

  /** An install that arrived without a client (started from HighLevel's marketplace), kept until claimed. */
  async saveUnclaimed (connection: NewConnection): Promise<Integration> {
    return this.db.transaction(async (tx) => {
      await lock(tx, `location:${connection.locationId}`)
      await tx.update(ghlIntegrations).set(this.rows.deactivation('revoked')).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)))
      const [row] = await tx.insert(ghlIntegrations).values(this.rows.seal('', connection)).returning()
      return this.rows.open(row!)
    })
  }

  /** Attaches the unclaimed install of `locationId` to `clientId`, replacing the client's active one. */
  async claim (clientId: string, locationId: string): Promise<Replacement | null> {
    return this.db.transaction(async (tx) => {
      await lock(tx, `client:${clientId}`)
      const [unclaimed] = await tx.select({ id: ghlIntegrations.id }).from(ghlIntegrations).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, locationId)))
        .orderBy(sql`${ghlIntegrations.connectedAt} desc`).limit(1).for('update')
      if (!unclaimed) return null
      const replaced = await tx.update(ghlIntegrations).set(this.rows.deactivation('revoked'))
        .where(and(eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, clientId)))
        .returning({ clientId: ghlIntegrations.clientId, locationId: ghlIntegrations.locationId })
      const [row] = await tx.update(ghlIntegrations).set({ clientId, updatedAt: new Date() })
        .where(eq(ghlIntegrations.id, unclaimed.id)).returning()
      return { integration: this.rows.open(row!), previousLocationId: previousOf(clientId, replaced) }
    })
  }

  /**
   * An agency's (Company) connection: kept with no client and no location, one active per
   * company, refreshed by the same locked path as any token. It mints its locations' tokens.
   */
  async saveAgency (connection: NewConnection & { companyId: string }): Promise<Integration> {
    return this.db.transaction(async (tx) => {
      await lock(tx, `company:${connection.companyId}`)
      await tx.update(ghlIntegrations).set(this.rows.deactivation('revoked')).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.userType, 'Company'), eq(ghlIntegrations.companyId, connection.companyId)))
      const [row] = await tx.insert(ghlIntegrations).values(this.rows.seal('', { ...connection, locationId: '', userType: 'Company' })).returning()
      return this.rows.open(row!)
    })
  }

  async setLocationName (id: string, locationName: string): Promise<void> {
    await this.db.update(ghlIntegrations).set({ locationName, lastSyncedAt: new Date(), updatedAt: new Date() }).where(eq(ghlIntegrations.id, id))
  }

  /** Disconnects the client: inactive, tokens erased. Returns whether there was anything to disconnect. */
  async deactivate (clientId: string, status: IntegrationStatus = 'revoked'): Promise<boolean> {
    if (!clientId) return false
    const rows = await this.db.update(ghlIntegrations).set(this.rows.deactivation(status))
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
      await tx.update(t).set(this.rows.deactivation('revoked')).where(inArray(t.id, removed.map((r) => r.id)))
      return removed
    })
  }
}

/** A transaction-scoped advisory lock on one client, location or company. */
const lock = (tx: Transaction, key: string) => tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`)

/** Of the rows a connection deactivated, the client's own (not an unclaimed install of the same location). */
const previousOf = (clientId: string, replaced: Array<{ clientId: string, locationId: string }>): string | null =>
  replaced.find((r) => r.clientId === clientId)?.locationId ?? null
