/**
 * The one error handler: every failure leaves as `{error, message}` with the right status.
 * Callers never see a stack trace or a 500 for something they sent.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { isAppError } from '@ghl-connect/errors'

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED',
  'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'])

/** PostgreSQL or Redis unreachable: the caller should retry, it did nothing wrong. */
export function isInfrastructureDown (err: unknown): boolean {
  const e = err as { code?: string, name?: string, message?: string, errors?: unknown[] } | null
  if (!e) return false
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true
  if (e.name === 'MaxRetriesPerRequestError') return true
  if (typeof e.message === 'string' && /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|write CONNECTION_CLOSED/.test(e.message)) return true
  return Array.isArray(e.errors) && e.errors.some(isInfrastructureDown)
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

export default fp(async function errorHandler (fastify: FastifyInstance) {
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    if (isAppError(err)) {
      if (err.details?.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.details.retryAfterSeconds))
      const extra = err.details?.fields ? { fields: err.details.fields } : {}
      if (err.statusCode >= 500) request.log.warn({ err }, 'request failed')
      return reply.status(err.statusCode).send({ error: err.code, message: err.message, ...extra })
    }
    if (err.validation) {
      return reply.status(400).send({ error: 'invalid_request', message: describeValidation(err) })
    }
    if (isInfrastructureDown(err)) {
      request.log.error({ err }, 'a backing service is unreachable')
      reply.header('retry-after', '5')
      return reply.status(503).send({ error: 'service_unavailable', message: 'A backing service is unreachable; retry in a few seconds.' })
    }
    const status = err.statusCode ?? 500
    if (status === 413) return reply.status(413).send({ error: 'body_too_large', message: 'The request body is too large; send a smaller body.' })
    if (status === 415) return reply.status(415).send({ error: 'unsupported_media_type', message: 'Send the body as application/json.' })
    if (status === 429) return reply.status(429).send({ error: 'rate_limited', message: err.message })
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, empty JSON body, bad content length...)
      const code = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'invalid_json' : 'bad_request'
      const message = code === 'invalid_json' ? 'The body is not valid JSON; check quotes, commas and braces.' : err.message
      return reply.status(status).send({ error: code, message })
    }
    request.log.error({ err }, 'unexpected error')
    return reply.status(500).send({ error: 'internal_error', message: 'Something went wrong on our side; it was logged. Retry later.' })
  })

  fastify.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'route_not_found', message: `There is no ${request.method} ${request.url.split('?')[0]}; see /docs/json for the routes.` })
  })
}, { name: 'error-handler' })
