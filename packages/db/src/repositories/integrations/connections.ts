/**
 * Connecting and disconnecting: a client's connection (replacing its active one), an install
 * kept until claimed, a claim, an agency's connection, and the ends (disconnect, UNINSTALL).
 * Each write that replaces rows does it in one transaction behind advisory locks (client, then
 * location), so two callbacks for one client or one location never trip over each other.
 *
 * One location, one client: a location an active client holds is not given to a second one.
 * The unique index ghl_integrations_one_active_per_location is the check (a second holder's
 * insert fails, and the whole replacement rolls back), and its violation is LocationTakenError.
 */
import { and, eq, inArray, lte, ne, or, sql } from 'drizzle-orm'
import type { Database, Transaction } from '../../database.ts'
import { ghlIntegrations, type IntegrationStatus } from '../../schema/index.ts'
import type { Integration, NewConnection, SealedRows } from './sealed-rows.ts'
import { newTokensUpdate } from './token-writes.ts'

/** Another active client holds the location: it is not connected to a second one. */
export class LocationTakenError extends Error {
  readonly code = 'location_taken'
  constructor (readonly locationId: string) {
    super(`location ${locationId} is held by another active client`)
    this.name = 'LocationTakenError'
  }
}

/**
 * What became of an install that arrived without a client: kept unclaimed (until claimed with
 * its code), or, for a location a client holds, that client's tokens renewed (no unclaimed twin).
 */
export type InstallOutcome =
  | { kind: 'unclaimed', integration: Integration }
  | { kind: 'renewed', integration: Integration }

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
    return heldElsewhere(connection.locationId, this.db.transaction(async (tx) => {
      await lock(tx, `client:${clientId}`)
      await lock(tx, `location:${connection.locationId}`)
      const replaced = await tx.update(ghlIntegrations).set(this.rows.deactivation('revoked'))
        .where(and(eq(ghlIntegrations.isActive, true), or(
          eq(ghlIntegrations.clientId, clientId),
          // an unclaimed install of the same location is superseded by this connection
          and(eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)),
        )))
        .returning({ clientId: ghlIntegrations.clientId, locationId: ghlIntegrations.locationId })
      const [row] = await tx.insert(ghlIntegrations).values(this.rows.seal(clientId, connection)).returning()
      return { integration: this.rows.open(row!), previousLocationId: previousOf(clientId, replaced) }
    }))
  }

  /**
   * An install that arrived without a client (a marketplace install, or a location its agency
   * minted): kept until claimed, replacing an earlier unclaimed one. For a location a client
   * holds, the holder's tokens are renewed instead (its own refresh token stays when the install
   * brought none), so the location keeps one connection and its webhooks reach the holder.
   */
  async saveUnclaimed (connection: NewConnection): Promise<InstallOutcome> {
    return this.db.transaction(async (tx) => {
      await lock(tx, `location:${connection.locationId}`)
      const [holder] = await tx.select({ id: ghlIntegrations.id }).from(ghlIntegrations).where(and(
        eq(ghlIntegrations.isActive, true), ne(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)))
        .limit(1).for('update')
      if (holder) {
        const renewed = newTokensUpdate(this.rows, holder.id, { ...connection, scopes: connection.scopes.length > 0 ? connection.scopes : undefined })
        const [row] = await tx.update(ghlIntegrations).set(renewed).where(eq(ghlIntegrations.id, holder.id)).returning()
        return { kind: 'renewed', integration: this.rows.open(row!) }
      }
      await tx.update(ghlIntegrations).set(this.rows.deactivation('revoked')).where(and(
        eq(ghlIntegrations.isActive, true), eq(ghlIntegrations.clientId, ''), eq(ghlIntegrations.locationId, connection.locationId)))
      const [row] = await tx.insert(ghlIntegrations).values(this.rows.seal('', connection)).returning()
      return { kind: 'unclaimed', integration: this.rows.open(row!) }
    })
  }

  /** Attaches the unclaimed install of `locationId` to `clientId`, replacing the client's active one. */
  async claim (clientId: string, locationId: string): Promise<Replacement | null> {
    return heldElsewhere(locationId, this.db.transaction(async (tx) => {
      await lock(tx, `client:${clientId}`)
      await lock(tx, `location:${locationId}`)
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
    }))
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

/** The location's unique index refused a second holder: the transaction rolled back, nothing changed. */
async function heldElsewhere<T> (locationId: string, write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (err) {
    const pg = (err as { cause?: unknown }).cause ?? err
    const { code, constraint_name: constraint } = pg as { code?: string, constraint_name?: string }
    if (code === '23505' && constraint === 'ghl_integrations_one_active_per_location') throw new LocationTakenError(locationId)
    throw err
  }
}

/** A transaction-scoped advisory lock on one client, location or company. */
const lock = (tx: Transaction, key: string) => tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`)

/** Of the rows a connection deactivated, the client's own (not an unclaimed install of the same location). */
const previousOf = (clientId: string, replaced: Array<{ clientId: string, locationId: string }>): string | null =>
  replaced.find((r) => r.clientId === clientId)?.locationId ?? null
