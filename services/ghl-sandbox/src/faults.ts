/**
 * Fault injection, global or per location: the failures HighLevel is known to produce, on demand,
 * so the callers' handling of each can be tested.
 */
export interface Faults {
  /** Fraction (0..1) of requests answered with `errorStatus`. */
  errorRate?: number
  /** The 5xx used by `errorRate` and `failNext`. Default 500. */
  errorStatus?: number
  /** The next N requests fail with `errorStatus`. */
  failNext?: number
  /** Added to every request before it is answered. */
  latencyMs?: number
  /** The next N requests never answer (until the caller gives up or the sandbox closes). */
  hangNext?: number
  /** The next N requests answer 401 "not authorized for this scope". */
  missingScopeNext?: number
  /** The next N requests answer 429. */
  rateLimitNext?: number
  /** Sent as `Retry-After` on the injected 429s (HighLevel documents none, so off by default). */
  retryAfterSeconds?: number
  /** The next N requests: the connection is reset before the request is handled (nothing done). */
  resetNext?: number
  /**
   * The next N messages sent (POST /conversations/messages): accepted and recorded, then the
   * connection is reset instead of answering. The sender cannot know it went out.
   */
  acceptThenResetNext?: number
  /** The next N messages sent: accepted and recorded, then a gateway's 502 (an HTML page) instead of the answer. */
  acceptThen502Next?: number
  /** Added to refresh requests only (grant_type=refresh_token), before HighLevel decides: a slow token endpoint. */
  refreshLatencyMs?: number
  /**
   * The next N refreshes are accepted (the old refresh token is spent, a new pair issued) and then
   * the connection is dropped before the answer is written: the caller never sees the new pair.
   */
  dropRefreshAnswerNext?: number
}

export type FaultAction =
  | { type: 'error', status: number }
  | { type: 'hang' }
  | { type: 'missing_scope' }
  | { type: 'rate_limited', retryAfterSeconds?: number }
  | { type: 'reset' }
  /** Do the work, then lose the answer (`answerAccepted` carries it out). */
  | { type: 'after_accept', then: AfterAccept }

export type AfterAccept = 'reset' | 'bad_gateway'

export class FaultBook {
  private global: Faults = {}
  private readonly perLocation = new Map<string, Faults>()

  set (faults: Faults, locationId?: string): void {
    const clean = Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined && v !== null)) as Faults
    if (locationId) this.perLocation.set(locationId, clean)
    else this.global = clean
  }

  clear (locationId?: string): void {
    if (locationId) this.perLocation.delete(locationId)
    else {
      this.global = {}
      this.perLocation.clear()
    }
  }

  list (): { global: Faults, locations: Record<string, Faults> } {
    return { global: { ...this.global }, locations: Object.fromEntries(this.perLocation) }
  }

  latencyMs (locationId?: string): number {
    return (this.global.latencyMs ?? 0) + ((locationId && this.perLocation.get(locationId)?.latencyMs) || 0)
  }

  refreshLatencyMs (locationId?: string): number {
    return (this.global.refreshLatencyMs ?? 0) + ((locationId && this.perLocation.get(locationId)?.refreshLatencyMs) || 0)
  }

  /** Whether this accepted refresh's answer is to be dropped (spends a one-shot counter). */
  dropsRefreshAnswer (locationId?: string): boolean {
    return this.books(locationId).some((f) => spend(f, 'dropRefreshAnswerNext'))
  }

  /**
   * Decides (and spends one-shot counters) for one request; global faults first. The
   * accept-then faults are spent only by a request that `accepts` a message.
   */
  next (locationId?: string, { accepts = false }: { accepts?: boolean } = {}): FaultAction | null {
    for (const f of this.books(locationId)) {
      if (spend(f, 'hangNext')) return { type: 'hang' }
      if (spend(f, 'resetNext')) return { type: 'reset' }
      if (spend(f, 'failNext')) return { type: 'error', status: f.errorStatus ?? 500 }
      if (spend(f, 'rateLimitNext')) return { type: 'rate_limited', retryAfterSeconds: f.retryAfterSeconds }
      if (spend(f, 'missingScopeNext')) return { type: 'missing_scope' }
      if (f.errorRate && Math.random() < f.errorRate) return { type: 'error', status: f.errorStatus ?? 500 }
      if (accepts && spend(f, 'acceptThenResetNext')) return { type: 'after_accept', then: 'reset' }
      if (accepts && spend(f, 'acceptThen502Next')) return { type: 'after_accept', then: 'bad_gateway' }
    }
    return null
  }

  private books (locationId?: string): Faults[] {
    return [this.global, locationId ? this.perLocation.get(locationId) : undefined].filter((f): f is Faults => !!f)
  }
}

type Counter = 'hangNext' | 'resetNext' | 'failNext' | 'rateLimitNext' | 'missingScopeNext' | 'acceptThenResetNext' | 'acceptThen502Next' | 'dropRefreshAnswerNext'

function spend (f: Faults, key: Counter): boolean {
  const left = f[key] ?? 0
  if (left <= 0) return false
  f[key] = left - 1
  return true
}
