/**
 * What every route shares, and the checks HighLevel makes before an endpoint does its work, in
 * HighLevel's order: Version header, token, the location's rate limit, injected faults, scope.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from './clock.ts'
import type { AfterAccept, FaultBook } from './faults.ts'
import { MESSAGES, sendGhlError } from './http.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { Grant, SandboxState } from './state.ts'
import type { MessageWebhooks } from './message-webhooks.ts'
import type { WebhookSigner } from './webhooks.ts'

export interface SandboxSettings {
  clientId: string
  clientSecret: string
  appId: string
  /** Redirect URIs registered on the app; empty = any http(s) URL (the code still binds to the one used). */
  redirectUris: string[]
  autoApprove: boolean
  autoApproveLocationId: string | null
  /** Scopes granted when the authorize request names none. */
  defaultScopes: string[]
  /** Upper bound on an injected hang, so a forgotten fault cannot hold a socket forever. */
  maxHangMs: number
}

export interface SandboxContext {
  state: SandboxState
  clock: Clock
  faults: FaultBook
  limiter: RateLimiter
  signer: WebhookSigner
  settings: SandboxSettings
  /** Resolvers of requests hung by a fault; called on close so the sandbox can stop. */
  hangs: Set<() => void>
  /** Requests whose answer an accept-then fault loses once the work is done. */
  afterAccept: WeakMap<FastifyRequest, AfterAccept>
  /** Requests the `latencyMs` fault holds right now. */
  held: { now: number }
  /** InboundMessage / OutboundMessage webhooks. */
  messageWebhooks: MessageWebhooks
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Holds the request until the caller gives up or the sandbox closes, then drops the connection. */
export async function hang (ctx: SandboxContext, reply: FastifyReply): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      reply.raw.off('close', done)
      ctx.hangs.delete(done)
      resolve()
    }
    const timer = setTimeout(done, ctx.settings.maxHangMs)
    reply.raw.on('close', done)
    ctx.hangs.add(done)
  })
  dropConnection(reply)
}

/** The connection is reset: the caller gets no answer at all. */
function dropConnection (reply: FastifyReply): void {
  reply.hijack()
  reply.raw.socket?.destroy()
}

/**
 * The answer to a request that did its work (a message accepted and recorded), unless an
 * accept-then fault loses it: the connection reset, or a gateway's 502 page in its place.
 */
export function answerAccepted (ctx: SandboxContext, reply: FastifyReply, body: Record<string, unknown>): FastifyReply | Record<string, unknown> {
  const lost = ctx.afterAccept.get(reply.request)
  if (lost) ctx.state.stats.answersLost++
  if (lost === 'reset') {
    dropConnection(reply)
    return reply
  }
  if (lost === 'bad_gateway') {
    // What a load balancer in front of HighLevel answers when the upstream reply is lost: HTML, not HighLevel's JSON.
    return reply.code(502).type('text/html').send('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>')
  }
  return body
}

/** A slow answer: the request waits `ms`, counted among those held at once. */
async function held (ctx: SandboxContext, ms: number): Promise<void> {
  ctx.held.now++
  ctx.state.stats.mostHeldAtOnce = Math.max(ctx.state.stats.mostHeldAtOnce, ctx.held.now)
  try {
    await delay(ms)
  } finally {
    ctx.held.now--
  }
}

/**
 * Applies latency and injected faults for a request attributed to `locationId`.
 * Returns false when it answered (or dropped) the request itself.
 */
export async function applyFaults (ctx: SandboxContext, reply: FastifyReply, locationId: string | undefined, opts: { accepts?: boolean } = {}): Promise<boolean> {
  const latency = ctx.faults.latencyMs(locationId)
  if (latency > 0) await held(ctx, latency)
  const fault = ctx.faults.next(locationId, opts)
  if (!fault) return true
  switch (fault.type) {
    case 'hang':
      await hang(ctx, reply)
      return false
    case 'reset':
      dropConnection(reply)
      return false
    case 'after_accept':
      ctx.afterAccept.set(reply.request, fault.then)
      return true
    case 'error':
      sendGhlError(reply, fault.status, fault.status === 503 ? 'Service Unavailable' : 'Internal server error')
      return false
    case 'rate_limited':
      ctx.state.stats.rateLimited++
      if (fault.retryAfterSeconds !== undefined) reply.header('retry-after', String(fault.retryAfterSeconds))
      sendGhlError(reply, 429, MESSAGES.rateLimited)
      return false
    case 'missing_scope':
      sendGhlError(reply, 401, MESSAGES.scope)
      return false
  }
}

export function bearer (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null
  return match?.[1]
}

export function versionOf (request: FastifyRequest): string | undefined {
  const value = request.headers.version
  return Array.isArray(value) ? value[0] : value
}

export interface Guard {
  version: string
  scope: string
  /** The endpoint accepts a message (POST /conversations/messages): the accept-then faults apply. */
  accepts?: boolean
}

/** The grant behind the request's token, or undefined when an answer was already sent. */
export async function authorize (ctx: SandboxContext, request: FastifyRequest, reply: FastifyReply, guard: Guard): Promise<Grant | undefined> {
  if (versionOf(request) !== guard.version) {
    sendGhlError(reply, 400, MESSAGES.version)
    return undefined
  }
  const token = bearer(request)
  const found = token ? ctx.state.accessTokenGrant(token) : { problem: 'unknown' as const }
  if ('problem' in found) {
    sendGhlError(reply, 401, found.problem === 'expired' ? MESSAGES.expiredToken : MESSAGES.invalidToken)
    return undefined
  }
  const { grant } = found
  const locationId = grant.locationId ?? undefined
  // HighLevel limits each app per resource: a Location token's calls count against its location,
  // an agency (Company) token's against its company, whichever endpoint they reach.
  const resource = locationId ?? (grant.userType === 'Company' ? `company:${grant.companyId}` : undefined)
  if (resource) {
    const verdict = ctx.limiter.take(`${ctx.settings.clientId}:${resource}`)
    reply.headers(verdict.headers)
    if (!verdict.allowed) {
      ctx.state.stats.rateLimited++
      if (!locationId) ctx.state.stats.companyRateLimited++
      if (verdict.dailyResetSeconds !== undefined) reply.header('retry-after', String(verdict.dailyResetSeconds))
      sendGhlError(reply, 429, MESSAGES.rateLimited)
      return undefined
    }
  }
  if (!await applyFaults(ctx, reply, locationId, { accepts: guard.accepts })) return undefined
  if (!grant.scopes.includes(guard.scope)) {
    sendGhlError(reply, 401, MESSAGES.scope)
    return undefined
  }
  return grant
}

/** A Location token reaches its own location; an agency token reaches its company's. */
export function canReach (ctx: SandboxContext, grant: Grant, locationId: string): boolean {
  if (grant.userType === 'Location') return grant.locationId === locationId
  return ctx.state.locations.get(locationId)?.companyId === grant.companyId
}
