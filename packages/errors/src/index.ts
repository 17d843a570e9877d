/**
 * The errors a caller can cause or must be told about. Services and routes throw these; the api's
 * one error handler turns them into an answer with `errorAnswer`, and the worker records `code`
 * and `message` on the job. `message` is a sentence a person can act on and never carries a secret.
 */
export interface AppErrorDetails {
  /** Sent as `retry-after`. */
  retryAfterSeconds?: number
  /** Per-field problems, sent beside `error` and `message`. */
  fields?: Record<string, string>
  /** The heading a person reads when a browser route answers this error as a page. */
  pageTitle?: string
  [key: string]: unknown
}

export class AppError extends Error {
  override name = 'AppError'
  constructor (
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: AppErrorDetails,
  ) {
    super(message)
  }
}

/** The JSON body of every error answer: a stable code to switch on and a sentence to show. */
export interface ErrorBody { error: string, message: string, fields?: Record<string, string> }

export interface ErrorAnswer { status: number, body: ErrorBody, headers: Record<string, string> }

/** How an error leaves any of our HTTP servers: its status, `{error, message, fields?}` and headers. */
export function errorAnswer (err: AppError): ErrorAnswer {
  const { retryAfterSeconds, fields } = err.details ?? {}
  return {
    status: err.statusCode,
    body: { error: err.code, message: err.message, ...(fields ? { fields } : {}) },
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
  }
}

export const badRequest = (code: string, message: string, details?: AppError['details']) => new AppError(400, code, message, details)
export const unauthorized = (code: string, message: string) => new AppError(401, code, message)
export const forbidden = (code: string, message: string, details?: AppError['details']) => new AppError(403, code, message, details)
export const notFound = (code: string, message: string) => new AppError(404, code, message)
export const conflict = (code: string, message: string, details?: AppError['details']) => new AppError(409, code, message, details)
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new AppError(429, code, message, { retryAfterSeconds })
/** An upstream (HighLevel) gave no answer we can pass on. */
export const badGateway = (code: string, message: string) => new AppError(502, code, message)
export const unavailable = (code: string, message: string, retryAfterSeconds?: number) =>
  new AppError(503, code, message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds })

export const NOT_CONNECTED_MESSAGE = "Please connect your GoHighLevel account first. Click 'Connect GoHighLevel' in settings."

export const NEEDS_REAUTH_MESSAGE = 'The GoHighLevel connection was revoked or its refresh token expired; reconnect GoHighLevel from settings.'

export const isAppError = (err: unknown): err is AppError => err instanceof AppError

/** The answer to a client that cannot send now; the rule is `sendingAccess` in @ghl-connect/db. */
export const sendingRefused = (code: 'not_connected' | 'needs_reauth', details?: AppError['details']) =>
  conflict(code, code === 'not_connected' ? NOT_CONNECTED_MESSAGE : NEEDS_REAUTH_MESSAGE, details)
