/** What the api answered when it did not do what was asked: its stable code, its sentence, the HTTP status. */
export class GhlConnectError extends Error {
  override name = 'GhlConnectError'
  constructor (
    /** The HTTP status (0 when the api could not be reached). */
    readonly status: number,
    /** The api's stable code to switch on, e.g. `not_connected`, `idempotency_key_reused`, `rate_limited`. */
    readonly error: string,
    message: string,
    /** Seconds to wait before trying again, from `Retry-After` (429, 503). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message)
  }
}

export const isGhlConnectError = (err: unknown): err is GhlConnectError => err instanceof GhlConnectError

/** Our `{error, message}` body, or, for an answer that is not ours (a proxy's 502 page), a code naming the status. */
export function errorFrom (response: Response, body: unknown): GhlConnectError {
  const retryAfter = Number(response.headers.get('retry-after'))
  const wait = Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has('retry-after') ? retryAfter : null
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' && typeof (body as { message?: unknown }).message === 'string') {
    const { error, message } = body as { error: string, message: string }
    return new GhlConnectError(response.status, error, message, wait)
  }
  return new GhlConnectError(response.status, 'unexpected_response', `ghl-connect answered ${response.status} without an error body.`, wait)
}
