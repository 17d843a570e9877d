/**
 * The connect flow between the signed link and the stored integration: begin (unused link, state
 * + cookie), complete (the URL's state taken once and matching the cookie, the link spent once,
 * code exchange, location name, one-transaction replace), and the marketplace path (no state and
 * no cookie: keep the install unclaimed, behind a claim code, until the CRM claims it; a
 * re-install of a location a client holds renews that client's tokens).
 *
 * A /connect page link connects once too: the authorize links it mints name it (`pageId`), and
 * it is spent with the first of them that connects.
 */
import type { GhlClient, TokenResponse } from '@ghl-connect/ghl'
import { GhlError } from '@ghl-connect/ghl'
import { LocationTakenError, type Integration, type IntegrationsRepository, type NewConnection, type Replacement, type UsedConnectLinksRepository } from '@ghl-connect/db'
import { MAX_LINK_TTL_SECONDS } from '@ghl-connect/connect-links'
import { AppError } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { AgencyInstall, AgencyInstalls } from './agency-installs.ts'
import type { AgencyPicks } from './agency-picks.ts'
import type { ConnectionEvents } from './connection-events.ts'
import type { InstallClaims } from './install-claims.ts'
import { OAuthStates, type ConnectStart, type PendingConnect } from './oauth-states.ts'

/** OAuth's own error names (RFC 6749 4.1.2.1): a code names one of these or `ghl_error`, never the caller's text. */
const OAUTH_ERRORS = new Set(['invalid_request', 'unauthorized_client', 'unsupported_response_type', 'invalid_scope', 'server_error', 'temporarily_unavailable'])

/** A connection that succeeded; a failure is thrown (`refused`) and the api's error handler shows its page. */
export type ConnectOutcome =
  | { kind: 'connected', integration: Integration, pending: PendingConnect }
  | { kind: 'unclaimed', integration: Integration, claimCode: string }
  /** A marketplace re-install of a location a client holds: the holder's tokens were renewed. */
  | { kind: 'renewed', integration: Integration }
  /** An agency approved from a client's link: the person picks which sub-account is the client (`pickToken`). */
  | { kind: 'agency_pick', install: AgencyInstall, pickToken: string, pending: PendingConnect }
  /** An agency installed from the marketplace: every sub-account waits to be claimed with its code. */
  | { kind: 'agency_unclaimed', install: AgencyInstall }

/** What a code exchange gave: one sub-account's connection, or an agency's. */
type Exchanged = { kind: 'location', connection: NewConnection } | { kind: 'agency', connection: NewConnection & { companyId: string } }

/** A failed connection: `code` is stable for logs and tests, the title and explanation are for a person. */
const refused = (status: number, code: string, title: string, explanation: string): AppError =>
  new AppError(status, code, explanation, { pageTitle: title })

/** A link that has connected a client is spent: the CRM makes a new one for the next connection. */
const linkUsed = () => refused(403, 'link_used', 'This connect link was already used',
  'This connect link was already used to connect GoHighLevel; each link works once. Ask your CRM for a new "Connect GoHighLevel" link.')

/** A page link that has connected a client is spent: opening it again shows the status only. */
const pageLinkUsed = () => refused(403, 'link_used', 'This page link already connected GoHighLevel',
  'The page this link opens has already connected GoHighLevel once; each page link connects once. Ask your CRM for a new "Connect GoHighLevel" link to connect again.')

/** Another account here holds the location: one location, one client. The link is given back. */
const locationTaken = () => refused(409, 'location_taken', 'This sub-account is connected to another account',
  'This HighLevel sub-account is already connected to another account here, and a sub-account can be connected to one account only, so nothing was changed. Disconnect it from the other account first (or ask your CRM to), then use this link again, or pick another sub-account.')

/** What an agency's token needs to list its sub-accounts and mint their tokens. */
export const AGENCY_SCOPES = ['oauth.readonly', 'oauth.write']

/** The scopes without which this service cannot do its job. */
export const REQUIRED_SCOPES = ['conversations/message.write']

export interface CallbackInput {
  code?: string
  state?: string
  error?: string
  errorDescription?: string
  cookie?: string
}

export class ConnectService {
  constructor (
    private readonly ghl: GhlClient,
    private readonly states: OAuthStates,
    private readonly integrations: IntegrationsRepository,
    private readonly usedLinks: UsedConnectLinksRepository,
    private readonly installClaims: InstallClaims,
    private readonly events: ConnectionEvents,
    private readonly logger: Logger,
    private readonly agencies: AgencyInstalls,
    private readonly picks: AgencyPicks,
  ) {}

  /** A used link is refused here already, before the person goes through HighLevel for nothing. */
  async begin (start: ConnectStart): Promise<{ redirectUrl: string, cookie: string }> {
    if (start.link && await this.usedLinks.isUsed(start.link.id)) throw linkUsed()
    if (start.link?.pageId && await this.usedLinks.isUsed(start.link.pageId)) throw pageLinkUsed()
    const { state, cookie } = await this.states.begin(start)
    return { redirectUrl: this.ghl.oauth.authorizeUrl({ state }), cookie }
  }

  /** Whether a /connect page link has connected its client (its authorize links are then refused). */
  async isPageLinkSpent (pageLinkId: string): Promise<boolean> {
    return this.usedLinks.isUsed(pageLinkId)
  }

  async complete (input: CallbackInput): Promise<ConnectOutcome> {
    if (input.error) {
      if (input.error === 'access_denied') {
        throw refused(400, 'access_denied', 'Connection cancelled', 'You declined access in HighLevel, so nothing was connected. Start again from your CRM when you are ready.')
      }
      // The code names one of OAuth's own errors (RFC 6749 4.1.2.1), never text the URL carried.
      throw refused(400, OAUTH_ERRORS.has(input.error) ? `ghl_${input.error}` : 'ghl_error', 'HighLevel refused the connection',
        `HighLevel answered "${(input.errorDescription ?? input.error).slice(0, 200)}". If it mentions the redirect URI, the app's redirect URI in the HighLevel marketplace must equal GHL_REDIRECT_URI exactly.`)
    }
    if (!input.code) {
      throw refused(400, 'missing_code', 'Nothing to connect', 'This page is where HighLevel sends you after you approve access; open it through "Connect GoHighLevel" in your CRM.')
    }

    if (!input.state) {
      // Never let the cookie stand in for the state: a stateless code may be an attacker's own,
      // sent to this browser to connect its client to the attacker's location (login CSRF).
      // The code is not spent, and the cookie stays for the flow this browser did start.
      if (input.cookie) {
        throw refused(403, 'state_missing', 'This approval did not come from your connection',
          'HighLevel sent this browser back without the state of the connection your CRM started, so it cannot be tied to that connection and nothing was connected. If you did not just approve access in HighLevel, close this page. Otherwise start again from "Connect GoHighLevel" in your CRM.')
      }
      return this.completeUnclaimed(input.code)
    }
    const { state } = input
    const fromCookie = OAuthStates.parseCookie(input.cookie)
    const pending = await this.states.take(state)
    if (!pending) {
      throw refused(400, 'state_invalid', 'This connection link was already used or has expired',
        'Each connection attempt can be completed once, within 10 minutes. Start again from "Connect GoHighLevel" in your CRM.')
    }
    if (!fromCookie) {
      throw refused(400, 'cookie_missing', 'Open the connection in the same browser',
        'This browser did not start this connection (its cookie is missing). Start again from "Connect GoHighLevel" in your CRM, in this browser, with cookies allowed.')
    }
    if (fromCookie.state !== state || !OAuthStates.cookieMatches(pending, fromCookie.nonce)) {
      throw refused(403, 'cookie_mismatch', 'This connection was started in another browser',
        'For your safety a connection must finish in the browser that started it. Start again from "Connect GoHighLevel" in your CRM.')
    }

    const connected = await this.connectOnce(pending, input.code)
    if (connected.kind === 'agency') {
      const offered = connected.install.locations.filter((l) => l.claimCode !== null).map((l) => l.integration.locationId)
      const pickToken = await this.picks.hold(pending, connected.install.agency.companyId!, offered)
      this.logger.info({ clientId: pending.clientId, companyId: connected.install.agency.companyId, offered: offered.length }, 'agency approved; waiting for the sub-account pick')
      return { kind: 'agency_pick', install: connected.install, pickToken, pending }
    }
    const { replacement } = connected
    const { integration } = replacement
    this.logger.info({ clientId: pending.clientId, locationId: integration.locationId }, 'client connected')
    await this.events.replaced(pending.clientId, replacement)
    return { kind: 'connected', integration, pending }
  }

  /**
   * Spends the flow's link before the code, atomically: of two flows started from one link only
   * one goes on. A connection that fails (a missing scope, the agency picked, HighLevel down)
   * gives the link back, so the person can try again with it.
   */
  private async connectOnce (pending: PendingConnect, code: string): Promise<{ kind: 'location', replacement: Replacement } | { kind: 'agency', install: AgencyInstall }> {
    const { link, clientId } = pending
    if (link && !await this.usedLinks.markUsed({ linkHash: link.id, clientId, expiresAt: new Date(link.expiresAt) })) throw linkUsed()
    const spent = link ? [link.id] : []
    try {
      // The page link's row is kept as long as a page link can live: the authorize link does not carry its expiry.
      if (link?.pageId) {
        if (!await this.usedLinks.markUsed({ linkHash: link.pageId, clientId, expiresAt: new Date(Date.now() + MAX_LINK_TTL_SECONDS * 1000) })) throw pageLinkUsed()
        spent.push(link.pageId)
      }
      const exchanged = await this.exchange(code)
      if (exchanged.kind === 'agency') return { kind: 'agency', install: await this.agencies.install(exchanged.connection) }
      return { kind: 'location', replacement: await this.integrations.connectClient(clientId, exchanged.connection) }
    } catch (err) {
      for (const id of spent) await this.usedLinks.release(id).catch((releaseErr) => this.logger.warn({ err: releaseErr }, 'could not give back a connect link'))
      if (!(err instanceof LocationTakenError)) throw err
      this.logger.info({ clientId, locationId: err.locationId }, 'location held by another client; not connected')
      throw locationTaken()
    }
  }

  /** The person picked which of the agency's sub-accounts is the client: bind it (the flow's link was spent at the callback). */
  async completePick (pickToken: string, locationId: string): Promise<{ integration: Integration, start: ConnectStart }> {
    const { start, replacement } = await this.picks.pick(pickToken, locationId)
    this.logger.info({ clientId: start.clientId, locationId }, 'client connected to a sub-account of its agency')
    await this.events.replaced(start.clientId, replacement)
    return { integration: replacement.integration, start }
  }

  private async completeUnclaimed (code: string): Promise<ConnectOutcome> {
    const exchanged = await this.exchange(code)
    if (exchanged.kind === 'agency') return { kind: 'agency_unclaimed', install: await this.agencies.install(exchanged.connection) }
    const kept = await this.integrations.saveUnclaimed(exchanged.connection)
    const { integration } = kept
    if (kept.kind === 'renewed') {
      this.logger.info({ locationId: integration.locationId, clientId: integration.clientId }, 'marketplace re-install renewed the holder\'s connection')
      return { kind: 'renewed', integration }
    }
    const claimCode = await this.installClaims.issue(integration.locationId)
    this.logger.info({ locationId: integration.locationId }, 'marketplace install kept until a client claims it with its claim code')
    await this.events.installPending(integration)
    return { kind: 'unclaimed', integration, claimCode }
  }

  /** Exchanges the code and reads the location's name; throws a failure a person can act on. */
  private async exchange (code: string): Promise<Exchanged> {
    let token: TokenResponse
    try {
      token = (await this.ghl.oauth.exchangeCode({ code })).data
    } catch (err) {
      this.logger.warn({ err }, 'code exchange failed')
      throw this.describeExchangeFailure(err)
    }
    const granted = (token.scope ?? '').split(/\s+/).filter(Boolean)
    const missing = REQUIRED_SCOPES.filter((s) => granted.length > 0 && !granted.includes(s))
    if (missing.length > 0) {
      throw refused(400, 'missing_scope', 'The app lacks a permission it needs',
        `HighLevel granted access without ${missing.join(', ')}. Add ${missing.length > 1 ? 'these scopes' : 'this scope'} to the app in the HighLevel marketplace (and to GHL_SCOPES), then connect again.`)
    }
    const agency = token.userType === 'Company' || !token.locationId
    if (agency && (!token.companyId || !token.refresh_token || AGENCY_SCOPES.some((s) => granted.length > 0 && !granted.includes(s)))) {
      throw refused(400, 'agency_token', 'Choose a sub-account, not the agency',
        'HighLevel connected the agency as a whole, and this app cannot act for an agency (it needs the oauth.readonly and oauth.write scopes to reach its sub-accounts). Start again and pick your sub-account (location) in HighLevel, or add those scopes to the app and GHL_SCOPES.')
    }
    if (agency) {
      return {
        kind: 'agency',
        connection: {
          locationId: '', companyId: token.companyId!, locationName: null, userType: 'Company', scopes: granted,
          accessToken: token.access_token, refreshToken: token.refresh_token ?? null,
          expiresAt: new Date(Date.now() + (token.expires_in ?? 86_399) * 1000),
        },
      }
    }
    const locationId = token.locationId!
    let locationName = locationId
    try {
      locationName = (await this.ghl.locations.get({ accessToken: token.access_token, locationId })).data.location.name || locationId
    } catch (err) {
      this.logger.warn({ err, locationId }, 'could not read the location name; using its id')
    }
    return { kind: 'location', connection: {
      locationId,
      companyId: token.companyId ?? null,
      locationName,
      userType: token.userType ?? 'Location',
      scopes: granted,
      accessToken: token.access_token,
      refreshToken: token.refresh_token ?? null,
      expiresAt: new Date(Date.now() + (token.expires_in ?? 86_399) * 1000),
    } }
  }

  private describeExchangeFailure (err: unknown): AppError {
    if (!(err instanceof GhlError)) {
      return refused(502, 'exchange_failed', 'HighLevel could not be reached', 'The connection could not be completed because HighLevel did not answer. Try again in a minute.')
    }
    const said = err.message
    if (err.kind === 'invalid_grant') {
      return refused(400, 'code_invalid', 'This approval was already used or has expired',
        'HighLevel approvals can be used once, within a few minutes. Start again from "Connect GoHighLevel" in your CRM.')
    }
    if (/redirect/i.test(said)) {
      return refused(400, 'redirect_uri_mismatch', 'HighLevel refused the redirect URI',
        'The redirect URI registered on the app in the HighLevel marketplace must equal GHL_REDIRECT_URI exactly (scheme, host, path). Fix one of them and connect again.')
    }
    if (err.kind === 'invalid_client' || /client/i.test(said)) {
      return refused(400, 'invalid_client', 'HighLevel did not accept the app credentials',
        'GHL_CLIENT_ID or GHL_CLIENT_SECRET does not match the app in the HighLevel marketplace. An administrator must fix the configuration; then connect again.')
    }
    if (err.kind === 'transient' || err.kind === 'rate_limited') {
      return refused(502, 'exchange_failed', 'HighLevel is not answering right now', 'HighLevel failed while completing the connection. Try again in a minute.')
    }
    return refused(400, 'exchange_refused', 'HighLevel refused the connection', `HighLevel answered: ${said.slice(0, 200)}. Start again from your CRM.`)
  }
}
