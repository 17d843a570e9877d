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

export class IntegrationsRepository {
  private readonly refreshWindowMs: number
  private readonly lookups: IntegrationLookups
  private readonly connections: IntegrationConnections
  private readonly tokenWrites: IntegrationTokenWrites
  private readonly refreshDue: RefreshDueListing
  private readonly keyRotation: IntegrationKeyRotation

  constructor (db: Database, cipher: TokenCipher, opts: { refreshWindowMs?: number } = {}) {
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
  replaceActive (clientId: string, connection: NewConnection): Promise<Integration> { return this.connections.replaceActive(clientId, connection) }
  connectClient (clientId: string, connection: NewConnection): Promise<Replacement> { return this.connections.connectClient(clientId, connection) }
  saveUnclaimed (connection: NewConnection): Promise<InstallOutcome> { return this.connections.saveUnclaimed(connection) }
  claim (clientId: string, locationId: string): Promise<Replacement | null> { return this.connections.claim(clientId, locationId) }
  saveAgency (connection: NewConnection & { companyId: string }): Promise<Integration> { return this.connections.saveAgency(connection) }
  setLocationName (id: string, locationName: string): Promise<void> { return this.connections.setLocationName(id, locationName) }
  deactivate (clientId: string, status?: IntegrationStatus): Promise<boolean> { return this.connections.deactivate(clientId, status) }
  deactivateUninstalled (scope: { locationId: string } | { companyId: string }, uninstalledAt: Date,
    beforeCommit: (removed: UninstalledIntegration[], tx: Transaction) => Promise<void>): Promise<UninstalledIntegration[]> {
    return this.connections.deactivateUninstalled(scope, uninstalledAt, beforeCommit)
  }

  // token-writes.ts
  writeTokens (id: string, readVersion: number, tokens: NewTokens): Promise<boolean> { return this.tokenWrites.writeTokens(id, readVersion, tokens) }
  recordRefreshFailure (id: string, readVersion: number,
    failure: { error: string, status?: IntegrationStatus, code?: RefreshErrorCode }): Promise<Date | null> {
    return this.tokenWrites.recordRefreshFailure(id, readVersion, failure)
  }

  // key-rotation.ts
  rotateKeys (batchSize?: number): Promise<KeyRotationResult> { return this.keyRotation.rotateKeys(batchSize) }
}
