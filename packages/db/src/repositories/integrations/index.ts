/**
 * The integrations repository, one object for its callers (`runtime.integrations.x`), made of a
 * part per concern: lookups.ts (reads), connections.ts (connect, claim, agency, disconnect),
 * token-writes.ts (the refresh path's version-checked writes), refresh-due.ts (expiry and the
 * sweep's listing), key-rotation.ts, and sealed-rows.ts (the one place tokens are sealed and opened).
 */
import type { Database, Transaction } from '../../database.ts'
import type { IntegrationStatus, RefreshErrorCode } from '../../schema/index.ts'
import type { TokenCipher } from '../../token-cipher.ts'
import { IntegrationConnections, type InstallOutcome, type Replacement, type UninstalledIntegration } from './connections.ts'
import { IntegrationKeyRotation, type KeyRotationResult } from './key-rotation.ts'
import { IntegrationLookups } from './lookups.ts'
import { DEFAULT_REFRESH_WINDOW_MS, isExpired, needsRefresh, RefreshDueListing, type AgingAgency, type ExpiringIntegration } from './refresh-due.ts'
import { SealedRows, type Integration, type NewConnection } from './sealed-rows.ts'
import { IntegrationTokenWrites, type NewTokens } from './token-writes.ts'

export type { Integration, NewConnection } from './sealed-rows.ts'
export { LocationTakenError, type InstallOutcome, type Replacement, type UninstalledIntegration } from './connections.ts'
export type { NewTokens } from './token-writes.ts'
export type { KeyRotationResult } from './key-rotation.ts'
export { DEFAULT_REFRESH_WINDOW_MS, isExpired, needsRefresh, type AgingAgency, type ExpiringIntegration } from './refresh-due.ts'
export { IntegrationKeyRotation } from './key-rotation.ts'

/**
 * What a write changed: the clients whose credential it touched, and the integrations it wrote by
 * id (the refresh path's writes, which know no client). Told after the write committed.
 */
export interface IntegrationChange { clientIds: string[], integrationIds: string[] }

export interface IntegrationsRepositoryOptions {
  refreshWindowMs?: number
  /**
   * Called after every write that changes a connection's token or whether it may be used
   * (connect, claim, renew, disconnect, uninstall, refresh, refresh failure), before the write's
   * promise resolves: caches of credentials elsewhere are told here, so no write site can forget to.
   */
  onChanged?: (change: IntegrationChange) => Promise<void>
}

export class IntegrationsRepository {
  private readonly refreshWindowMs: number
  private readonly lookups: IntegrationLookups
  private readonly connections: IntegrationConnections
  private readonly tokenWrites: IntegrationTokenWrites
  private readonly refreshDue: RefreshDueListing
  private readonly keyRotation: IntegrationKeyRotation

  private readonly onChanged: (change: IntegrationChange) => Promise<void>

  constructor (db: Database, cipher: TokenCipher, opts: IntegrationsRepositoryOptions = {}) {
    this.onChanged = opts.onChanged ?? (async () => {})
    this.refreshWindowMs = opts.refreshWindowMs ?? DEFAULT_REFRESH_WINDOW_MS
    const rows = new SealedRows(cipher)
    this.lookups = new IntegrationLookups(db, rows)
    this.connections = new IntegrationConnections(db, rows)
    this.tokenWrites = new IntegrationTokenWrites(db, rows)
    this.refreshDue = new RefreshDueListing(db)
    this.keyRotation = new IntegrationKeyRotation(db, cipher)
  }

  // refresh-due.ts
  isExpired (i: Pick<Integration, 'expiresAt'>, now = new Date()): boolean { return isExpired(i, now) }
  needsRefresh (i: Pick<Integration, 'expiresAt'>, now = new Date()): boolean { return needsRefresh(i, this.refreshWindowMs, now) }
  listExpiring (before: Date, limit: number, after?: ExpiringIntegration): Promise<ExpiringIntegration[]> { return this.refreshDue.listExpiring(before, limit, after) }
  listAgingAgencies (renewedBefore: Date, limit: number): Promise<AgingAgency[]> { return this.refreshDue.listAgingAgencies(renewedBefore, limit) }

  // lookups.ts
  findByClient (clientId: string): Promise<Integration | null> { return this.lookups.findByClient(clientId) }
  findForSending (clientId: string): Promise<Integration | null> { return this.lookups.findForSending(clientId) }
  findById (id: string): Promise<Integration | null> { return this.lookups.findById(id) }
  findActiveById (id: string): Promise<Integration | null> { return this.lookups.findActiveById(id) }
  findByLocationId (locationId: string): Promise<Integration | null> { return this.lookups.findByLocationId(locationId) }
  findAgency (companyId: string): Promise<Integration | null> { return this.lookups.findAgency(companyId) }
  listAgencyCompanies (): Promise<string[]> { return this.lookups.listAgencyCompanies() }
  listMintedLocations (companyId: string, limit: number): Promise<Array<{ clientId: string, locationId: string }>> { return this.lookups.listMintedLocations(companyId, limit) }

  // connections.ts
  // Every write below that changes a token or its use tells onChanged (the agency's own row and a
  // location's name change no client's credential).
  async replaceActive (clientId: string, connection: NewConnection): Promise<Integration> {
    return this.told(await this.connections.replaceActive(clientId, connection), { clientIds: [clientId] })
  }

  async connectClient (clientId: string, connection: NewConnection): Promise<Replacement> {
    return this.told(await this.connections.connectClient(clientId, connection), { clientIds: [clientId] })
  }

  async saveUnclaimed (connection: NewConnection): Promise<InstallOutcome> {
    const outcome = await this.connections.saveUnclaimed(connection)
    return this.told(outcome, { clientIds: outcome.integration.clientId ? [outcome.integration.clientId] : [], integrationIds: [outcome.integration.id] })
  }

  async claim (clientId: string, locationId: string): Promise<Replacement | null> {
    return this.told(await this.connections.claim(clientId, locationId), { clientIds: [clientId] })
  }

  saveAgency (connection: NewConnection & { companyId: string }): Promise<Integration> { return this.connections.saveAgency(connection) }
  setLocationName (id: string, locationName: string): Promise<void> { return this.connections.setLocationName(id, locationName) }

  async deactivate (clientId: string, status?: IntegrationStatus): Promise<boolean> {
    return this.told(await this.connections.deactivate(clientId, status), { clientIds: [clientId] })
  }

  async deactivateUninstalled (scope: { locationId: string } | { companyId: string }, uninstalledAt: Date,
    beforeCommit: (removed: UninstalledIntegration[], tx: Transaction) => Promise<void>): Promise<UninstalledIntegration[]> {
    const removed = await this.connections.deactivateUninstalled(scope, uninstalledAt, beforeCommit)
    return this.told(removed, { clientIds: removed.map((r) => r.clientId).filter(Boolean), integrationIds: removed.map((r) => r.id) })
  }

  // token-writes.ts
  async writeTokens (id: string, readVersion: number, tokens: NewTokens): Promise<boolean> {
    return this.told(await this.tokenWrites.writeTokens(id, readVersion, tokens), { integrationIds: [id] })
  }

  async recordRefreshFailure (id: string, readVersion: number,
    failure: { error: string, status?: IntegrationStatus, code?: RefreshErrorCode }): Promise<Date | null> {
    return this.told(await this.tokenWrites.recordRefreshFailure(id, readVersion, failure), { integrationIds: [id] })
  }

  /** `result`, once onChanged has heard of the write (a write that changed nothing is told too: cheap, and never wrong). */
  private async told<T> (result: T, change: Partial<IntegrationChange>): Promise<T> {
    await this.onChanged({ clientIds: change.clientIds ?? [], integrationIds: change.integrationIds ?? [] })
    return result
  }

  // key-rotation.ts
  rotateKeys (batchSize?: number): Promise<KeyRotationResult> { return this.keyRotation.rotateKeys(batchSize) }
}
