/** Reading integrations: by client, by id, by location, and an agency's by company. */
import { and, asc, desc, eq, isNotNull, isNull, ne, sql } from 'drizzle-orm'
import type { Database } from '../../database.ts'
import { ghlIntegrations } from '../../schema/index.ts'
import type { Integration, SealedRows } from './sealed-rows.ts'

export class IntegrationLookups {
  // Read for an SMS whose client's credential the worker has not cached (or whose connection changed): built once (see SmsMessagesRepository).
  private readonly activeByClient

  constructor (private readonly db: Database, private readonly rows: SealedRows) {
    this.activeByClient = db.select().from(ghlIntegrations)
      .where(and(eq(ghlIntegrations.clientId, sql.placeholder('clientId')), eq(ghlIntegrations.isActive, true))).limit(1)
      .prepare('integration_active_by_client')
  }

  async findByClient (clientId: string): Promise<Integration | null> {
    if (!clientId) return null
    const [row] = await this.activeByClient.execute({ clientId })
    return row ? this.rows.open(row) : null
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
    return past ? this.rows.open(past) : null
  }

  async findById (id: string): Promise<Integration | null> {
    const [row] = await this.db.select().from(ghlIntegrations).where(eq(ghlIntegrations.id, id)).limit(1)
    return row ? this.rows.open(row) : null
  }

  /** An active integration by its id (an agency connection has no client to find it by). */
  async findActiveById (id: string): Promise<Integration | null> {
    const found = await this.findById(id)
    return found && found.isActive ? found : null
  }

  /**
   * The active integration for a HighLevel location: its holder's (one at most, by the unique
   * index), else its newest unclaimed install. The holder comes first, so an unclaimed install
   * that raced a connection never takes the location's webhooks from it.
   */
  async findByLocationId (locationId: string): Promise<Integration | null> {
    const [row] = await this.db.select().from(ghlIntegrations)
      .where(and(eq(ghlIntegrations.locationId, locationId), eq(ghlIntegrations.isActive, true)))
      .orderBy(sql`${ghlIntegrations.clientId} <> '' desc`, desc(ghlIntegrations.connectedAt)).limit(1)
    return row ? this.rows.open(row) : null
  }

  /** The company's active agency connection, if we hold one. */
  async findAgency (companyId: string): Promise<Integration | null> {
    const [row] = await this.db.select().from(ghlIntegrations).where(and(
      eq(ghlIntegrations.companyId, companyId), eq(ghlIntegrations.userType, 'Company'), eq(ghlIntegrations.isActive, true)))
      .orderBy(desc(ghlIntegrations.connectedAt)).limit(1)
    return row ? this.rows.open(row) : null
  }

  /** Every company whose agency connection we hold (an INSTALL that names no company is tried against each). */
  async listAgencyCompanies (): Promise<string[]> {
    const rows = await this.db.selectDistinct({ companyId: ghlIntegrations.companyId }).from(ghlIntegrations).where(and(
      eq(ghlIntegrations.userType, 'Company'), eq(ghlIntegrations.isActive, true), isNotNull(ghlIntegrations.companyId)))
    return rows.map((r) => r.companyId!).filter(Boolean)
  }

  /**
   * The company's sub-account connections that live on its agency's token (minted, no refresh
   * token of their own): what an agency connection that breaks takes down with it. At most `limit`.
   */
  async listMintedLocations (companyId: string, limit: number): Promise<Array<{ clientId: string, locationId: string }>> {
    const t = ghlIntegrations
    return this.db.select({ clientId: t.clientId, locationId: t.locationId }).from(t).where(and(
      eq(t.companyId, companyId), eq(t.isActive, true), ne(t.userType, 'Company'), isNull(t.refreshToken)))
      .orderBy(asc(t.locationId)).limit(limit)
  }
}
