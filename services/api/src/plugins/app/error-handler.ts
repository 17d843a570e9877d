/**
 * The one error path: every failure becomes an AppError and leaves through `errorAnswer`
 * (@ghl-connect/errors) as `{error, message, fields?}` with its status and headers, or, on a
 * route a person opens in a browser (`config: { answer: 'page' }`), as the failure page naming
 * the same code. Callers never see a stack trace or a 500 for something they sent.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, badRequest, errorAnswer, isAppError, notFound, unavailable } from '@ghl-connect/errors'
import { failurePage } from '../../pages/failure.ts'
import { sendPage } from '../../pages/layout.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'page': a person opens this route in a browser, so a failed GET (or HEAD) answers as an HTML page. Default: JSON. */
    answer?: 'json' | 'page'
    /** false: the request line is logged without its query (it carries a caller's data). */
    logQuery?: boolean
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED',
  'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'])

/** PostgreSQL's SQLSTATE, also when drizzle wrapped the driver's error. */
function sqlState (err: unknown, depth = 0): string | undefined {
  const e = err as { code?: unknown, cause?: unknown } | null
  if (!e || depth > 4) return undefined
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code
  return sqlState(e.cause, depth + 1)
}

/** PostgreSQL or Redis unreachable: the caller should retry, it did nothing wrong. */
export function isInfrastructureDown (err: unknown, depth = 0): boolean {
  const e = err as { code?: string, name?: string, message?: string, errors?: unknown[], cause?: unknown } | null
  if (!e || depth > 4) return false
  // drizzle wraps the driver's error (DrizzleQueryError) with the connection failure as its cause
  if (e.cause && isInfrastructureDown(e.cause, depth + 1)) return true
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true
  if (e.name === 'MaxRetriesPerRequestError') return true
  if (typeof e.message === 'string' && /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|write CONNECTION_CLOSED/.test(e.message)) return true
  return Array.isArray(e.errors) && e.errors.some((inner) => isInfrastructureDown(inner, depth + 1))
}

function describeValidation (err: FastifyError): string {
  const first = err.validation?.[0]
  if (!first) return err.message
  const where = err.validationContext ?? 'body'
  const path = (first.instancePath || '').replace(/^\//, '').replace(/\//g, '.')
  const params = first.params as Record<string, unknown>
  if (first.keyword === 'required') return `${where}.${path ? `${path}.` : ''}${String(params.missingProperty)} is required.`
  if (first.keyword === 'additionalProperties') return `${where}${path ? `.${path}` : ''} has an unknown field "${String(params.additionalProperty)}"; remove it.`
  return `${where}${path ? `.${path}` : ''} ${first.message ?? 'is invalid'}.`
}

/** Every error as the AppError a caller is told about; logs what needs a look. */
function toAppError (err: FastifyError, request: FastifyRequest): AppError {
  if (isAppError(err)) {
    if (err.statusCode >= 500) request.log.warn({ err }, 'request failed')
    return err
  }
  if (err.validation) return badRequest('invalid_request', describeValidation(err))
  // Class 22 (data exception): a value PostgreSQL cannot store, such as a NUL character in text.
  if (sqlState(err)?.startsWith('22')) {
    return badRequest('invalid_request', 'A value in the request cannot be stored (for example a NUL character in a text); remove it and retry.')
  }
  if (isInfrastructureDown(err)) {
    request.log.error({ err }, 'a backing service is unreachable')
    return unavailable('service_unavailable', 'A backing service is unreachable; retry in a few seconds.', 5)
  }
  const status = err.statusCode ?? 500
  if (status === 413) return new AppError(status, 'body_too_large', 'The request body is too large; send a smaller body.')
  if (status === 415) return new AppError(status, 'unsupported_media_type', 'Send the body as application/json.')
  if (status === 429) return new AppError(status, 'rate_limited', err.message)
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, empty JSON body, bad content length...)
    const invalidJson = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    return invalidJson
      ? new AppError(status, 'invalid_json', 'The body is not valid JSON; check quotes, commas and braces.')
      : new AppError(status, 'bad_request', err.message)
  }
  request.log.error({ err }, 'unexpected error')
  return new AppError(500, 'internal_error', 'Something went wrong on our side; it was logged. Retry later.')
}

/** The router's own refusals, which come before any hook or the error handler (app.ts `frameworkErrors`). */
export function malformedUrl (err: FastifyError): AppError {
  return err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? new AppError(414, 'url_too_long', 'A part of the URL is longer than the api accepts; check the id in the path.')
    : badRequest('bad_url', 'The URL is malformed (invalid percent-encoding); encode each part of the path and retry.')
}

/** An error as JSON: what every machine caller, and anything answering outside the error handler, sends. */
export function sendError (reply: FastifyReply, err: AppError) {
  const { status, body, headers } = errorAnswer(err)
  return reply.status(status).headers(headers).send(body)
}

function sendFailurePage (request: FastifyRequest, reply: FastifyReply, err: AppError) {
  const { status, body, headers } = errorAnswer(err)
  if (status < 500) request.log.warn({ code: body.error }, 'failure page shown')
  const title = err.details?.pageTitle ?? (status >= 500 ? 'Something went wrong; try again in a minute' : 'This request cannot be completed')
  return sendPage(reply.headers(headers), status, failurePage(title, body.message, body.error))
}

export default fp(async function errorHandler (fastify: FastifyInstance) {
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    const error = toAppError(err, request)
    // A page only where a browser navigates (GET, and HEAD, whose headers mirror GET's); a POST
    // to a browser route is no person reading a page.
    const navigation = request.method === 'GET' || request.method === 'HEAD'
    if (navigation && request.routeOptions.config.answer === 'page') return sendFailurePage(request, reply, error)
    return sendError(reply, error)
  })

  fastify.setNotFoundHandler((request, reply) =>
    sendError(reply, notFound('route_not_found', `There is no ${request.method} ${request.url.split('?')[0]}; see /docs/json for the routes.`)))
}, { name: 'error-handler' })
