/**
 * The one error handler: every failure leaves as `{error, message}` with the right status.
 * Callers never see a stack trace or a 500 for something they sent.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { isAppError } from '@ghl-connect/errors'
import { failurePage, sendPage } from '../../oauth/pages.ts'

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

interface Answer { status: number, error: string, message: string, retryAfter?: number, fields?: Record<string, string> }

/** Every error as the status, stable code and sentence a caller gets; logs what needs a look. */
function toAnswer (err: FastifyError, request: FastifyRequest): Answer {
  if (isAppError(err)) {
    if (err.statusCode >= 500) request.log.warn({ err }, 'request failed')
    return { status: err.statusCode, error: err.code, message: err.message, retryAfter: err.details?.retryAfterSeconds, fields: err.details?.fields }
  }
  if (err.validation) return { status: 400, error: 'invalid_request', message: describeValidation(err) }
  // Class 22 (data exception): a value PostgreSQL cannot store, such as a NUL character in text.
  if (sqlState(err)?.startsWith('22')) {
    return { status: 400, error: 'invalid_request', message: 'A value in the request cannot be stored (for example a NUL character in a text); remove it and retry.' }
  }
  if (isInfrastructureDown(err)) {
    request.log.error({ err }, 'a backing service is unreachable')
    return { status: 503, error: 'service_unavailable', message: 'A backing service is unreachable; retry in a few seconds.', retryAfter: 5 }
  }
  const status = err.statusCode ?? 500
  if (status === 413) return { status, error: 'body_too_large', message: 'The request body is too large; send a smaller body.' }
  if (status === 415) return { status, error: 'unsupported_media_type', message: 'Send the body as application/json.' }
  if (status === 429) return { status, error: 'rate_limited', message: err.message }
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, empty JSON body, bad content length...)
    const invalidJson = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    return invalidJson
      ? { status, error: 'invalid_json', message: 'The body is not valid JSON; check quotes, commas and braces.' }
      : { status, error: 'bad_request', message: err.message }
  }
  request.log.error({ err }, 'unexpected error')
  return { status: 500, error: 'internal_error', message: 'Something went wrong on our side; it was logged. Retry later.' }
}

/** Pages a person opens in a browser answer errors as a page too, never as JSON or a stack trace. */
const BROWSER_ROUTES = /^\/(connect|api\/ghl-oauth\/(authorize|callback))(\?|$)/

export default fp(async function errorHandler (fastify: FastifyInstance) {
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    const answer = toAnswer(err, request)
    if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter))
    if (request.method === 'GET' && BROWSER_ROUTES.test(request.url)) {
      const title = answer.status >= 500 ? 'Something went wrong; try again in a minute' : 'This request cannot be completed'
      return sendPage(reply, answer.status, failurePage(title, answer.message, answer.error))
    }
    return reply.status(answer.status).send({ error: answer.error, message: answer.message, ...(answer.fields ? { fields: answer.fields } : {}) })
  })

  fastify.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'route_not_found', message: `There is no ${request.method} ${request.url.split('?')[0]}; see /docs/json for the routes.` })
  })
}, { name: 'error-handler' })
