/**
 * Agency (Company) installs. When an agency approves the app, HighLevel gives one Company token
 * for the whole agency: we keep it as the agency's connection (encrypted, refreshed by the one
 * refresh path) and mint a location token for each sub-account the app is installed on
 * (`GET /oauth/installedLocations`, then `POST /oauth/locationToken`). Each minted location is
 * kept as an unclaimed install behind a claim code, like a marketplace install (one a client
 * already holds stays that client's, its tokens renewed); a flow started
 * from a client's connect link then lets the person pick which of them is that client (see
 * AgencyPicks). Minted location tokens carry no refresh token: the refresh path renews them by
 * minting again with the agency's token (packages/tokens).
 *
 * Install storms: an agency approving 500 sub-accounts brings the callback's exchange and, at
 * once, 500 INSTALL webhooks for the same sub-accounts. Every call made with the agency's token
 * waits for a slot of its company's HighLevel budget (`paceCompany`: HighLevel limits a company
 * like a location, 100 per 10 s), so none is refused; and each location is minted under its own
 * lock (`mintOnce`), so whichever of the callback and the webhook comes second uses what the
 * first minted instead of minting again.
 */
import { isGhlError, type GhlClient, type InstalledLocation } from '@ghl-connect/ghl'
import type { Integration, IntegrationsRepository, NewConnection } from '@ghl-connect/db'
import { isAppError, tooManyRequests } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { RefreshedTokens, TokenService } from '@ghl-connect/tokens'
import type { ConnectionEvents } from './connection-events.ts'
import type { InstallClaims } from './install-claims.ts'

/** HighLevel lists installed locations a page at a time; an agency with more than this many is read in several calls. */
const PAGE = 100
/** A bound on one install's work: an agency with more sub-accounts is minted on use instead (INSTALL webhooks, or a later pick). */
export const MAX_MINTED_PER_INSTALL = 500
/** Mints of one install in flight at once: the company's budget paces them, the lanes only keep the slots used. */
const MINT_LANES = 8
/**
 * How long an INSTALL webhook waits for a slot of its company's budget. In a storm (the agency's
 * own install minting hundreds) a later slot is not waited for: the webhook is answered 429, so
 * HighLevel delivers it again later, when the location is usually minted already.
 */
export const INSTALL_WEBHOOK_MINT_WAIT_MS = 5000
/** The longest an agency install's mark stands (500 mints at 90 per 10 s take about a minute; a crashed install's mark lapses). */
const INSTALL_MARK_MS = 5 * 60_000

/** A sub-account an agency install made usable: its unclaimed install and the code that claims it (null when already bound to a client). */
export interface MintedLocation {
  integration: Integration
  claimCode: string | null
}

export interface AgencyInstall {
  agency: Integration
  locations: MintedLocation[]
  installToFutureLocations: boolean
}

export class AgencyInstalls {
  constructor (
    private readonly ghl: GhlClient,
    private readonly appId: string,
    private readonly integrations: IntegrationsRepository,
    private readonly tokens: TokenService,
    private readonly installClaims: InstallClaims,
    private readonly events: ConnectionEvents,
    private readonly logger: Logger,
  ) {}

  /** Keeps the agency's connection and mints a token for every location the app is installed on. */
  async install (connection: NewConnection & { companyId: string }): Promise<AgencyInstall> {
    // Its sub-accounts' INSTALL webhooks arrive meanwhile: they wait (429, delivered again) while this mints.
    const done = await this.tokens.beginInstall(connection.companyId, INSTALL_MARK_MS)
    try {
      return await this.mintAll(connection)
    } finally {
      await done().catch((err) => this.logger.warn({ err, companyId: connection.companyId }, 'could not clear the agency install mark'))
    }
  }

  private async mintAll (connection: NewConnection & { companyId: string }): Promise<AgencyInstall> {
    const agency = await this.integrations.saveAgency(connection)
    const log = this.logger.child({ companyId: connection.companyId })
    const listed: InstalledLocation[] = []
    let installToFutureLocations = false
    for (let skip = 0; listed.length < MAX_MINTED_PER_INSTALL; skip += PAGE) {
      await this.tokens.paceCompany(connection.companyId)
      const { data } = await this.ghl.oauth.getInstalledLocations({ accessToken: connection.accessToken, companyId: connection.companyId, appId: this.appId, skip, limit: PAGE })
      installToFutureLocations = data.installToFutureLocations ?? installToFutureLocations
      const page = data.locations.filter((l) => l.isInstalled !== false && typeof l._id === 'string' && l._id)
      listed.push(...page)
      if (data.locations.length < PAGE || (data.count !== undefined && skip + PAGE >= data.count)) break
    }
    const wanted = listed.slice(0, MAX_MINTED_PER_INSTALL)
    const minted: Array<MintedLocation | null> = new Array(wanted.length).fill(null)
    const failures: unknown[] = []
    let next = 0
    const lane = async () => {
      while (next < wanted.length) {
        const i = next++
        const location = wanted[i]!
        try {
          // A racing INSTALL webhook may have minted it since this agency connection was kept: that token is used.
          minted[i] = await this.mintInstalled(agency, location._id, location.name, { reuse: (held) => mintedSince(held, agency) })
        } catch (err) {
          // One sub-account HighLevel did not answer for does not undo the others: its INSTALL webhook
          // (delivered again) or its first use mints it.
          failures.push(err)
          log.warn({ err, locationId: location._id }, 'could not mint a sub-account of the agency install; it is minted on its INSTALL webhook or first use')
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(MINT_LANES, wanted.length) }, lane))
    if (failures.length > 0 && failures.length === wanted.length) throw failures[0]
    const locations = minted.filter((l): l is MintedLocation => l !== null)
    log.info({ locations: locations.length, failed: failures.length, installToFutureLocations }, 'agency install kept; location tokens minted')
    return { agency, locations, installToFutureLocations }
  }

  /**
   * An INSTALL webhook for one location: when we hold the agency of its company (or, when the
   * webhook names no company, of any company that can mint it), mint the location's token and
   * keep it unclaimed. Returns null when no agency we hold covers the location.
   */
  async installLocation (locationId: string, companyId?: string): Promise<MintedLocation | null> {
    const companies = companyId ? [companyId] : await this.integrations.listAgencyCompanies()
    for (const company of companies) {
      const agency = await this.tokens.getFreshAgency(company)
      if (!agency) continue
      if (await this.tokens.mintingInstall(company) && !await this.integrations.findByLocationId(locationId)) {
        // The agency's own install is minting its sub-accounts: HighLevel delivers this again later, when it is held.
        throw tooManyRequests('agency_install_in_progress', 'The agency\'s install is still minting its sub-accounts; deliver this INSTALL again later.', 60)
      }
      try {
        // Held already (minted by the agency's own install, or connected): its claim code, shown once, stays valid.
        return await this.mintInstalled(agency, locationId, null, { reuse: () => true, maxWaitMs: INSTALL_WEBHOOK_MINT_WAIT_MS })
      } catch (err) {
        // HighLevel down or the company's budget taken: the webhook is answered 429 and delivered again.
        // Refused: without a company in the webhook, every agency but the location's own refuses; try the next.
        if (isAppError(err) || (isGhlError(err) && (err.kind === 'transient' || err.kind === 'rate_limited'))) throw err
        if (companyId) {
          this.logger.warn({ err, locationId, companyId }, 'the agency could not mint the installed location')
          return null
        }
        this.logger.debug({ err, locationId }, 'this agency cannot mint the location')
      }
    }
    return null
  }

  /**
   * Mints and keeps one location, once: a connection already held for it that `reuse` accepts is
   * used instead (its claim code issued again for the page that shows it: the earlier one was shown
   * to nobody). A location a client holds stays that client's: the minted token renews its
   * connection (its own refresh token stays), and no claim code is issued.
   */
  private async mintInstalled (agency: Integration, locationId: string, name: string | null,
    { reuse, maxWaitMs }: { reuse: (held: Integration) => boolean, maxWaitMs?: number }): Promise<MintedLocation> {
    return this.tokens.mintOnce(agency, locationId, {
      maxWaitMs,
      held: async () => {
        const held = await this.integrations.findByLocationId(locationId)
        if (!held || !reuse(held)) return null
        return { integration: held, claimCode: held.clientId || name === null ? null : await this.installClaims.issue(locationId) }
      },
      keep: (tokens) => this.keepMinted(agency, locationId, name, tokens),
    })
  }

  private async keepMinted (agency: Integration, locationId: string, name: string | null, tokens: RefreshedTokens): Promise<MintedLocation> {
    const kept = await this.integrations.saveUnclaimed({
      locationId,
      companyId: agency.companyId,
      locationName: name ?? locationId,
      userType: 'Location',
      scopes: tokens.scopes ?? [],
      accessToken: tokens.accessToken,
      refreshToken: null,
      expiresAt: tokens.expiresAt,
    })
    const { integration } = kept
    if (kept.kind === 'renewed') {
      this.logger.info({ locationId, clientId: integration.clientId }, 'agency mint renewed the holder\'s connection')
      return { integration, claimCode: null }
    }
    if (!name) {
      try {
        const { location } = (await this.ghl.locations.get({ accessToken: tokens.accessToken, locationId })).data
        if (location.name) await this.integrations.setLocationName(integration.id, location.name)
        integration.locationName = location.name || integration.locationName
      } catch (err) {
        this.logger.warn({ err, locationId }, 'could not read the location name; using its id')
      }
    }
    const claimCode = await this.installClaims.issue(locationId)
    await this.events.installPending(integration)
    return { integration, claimCode }
  }
}

/** Minted (or renewed) for the company since this agency connection was kept: by a racing INSTALL webhook of the same install. */
function mintedSince (held: Integration, agency: Integration): boolean {
  return held.companyId === agency.companyId && (held.lastRefreshedAt ?? held.connectedAt).getTime() >= agency.connectedAt.getTime()
}
