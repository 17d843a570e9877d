/**
 * One line per request, written when the answer has gone: method, URL (its query left out where
 * the route says so), status and time, under the request's id and (machine routes) the caller's
 * name. A route may name the line and add what it did to it (`logAs`) instead of writing a line
 * of its own beside it: on the intake's hot path a log line is a measurable share of the CPU
 * (docs/benchmarks.md), so `sms queued` is that request's line.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'

declare module 'fastify' {
  /** The app's logger is always our pino instance (app.ts), whose child loggers take further bindings in place. */
  interface FastifyBaseLogger {
    setBindings (bindings: Record<string, unknown>): void
  }
  interface FastifyRequest {
    /** What the request's line says instead of `request done`, and the route's facts on it. */
    logLine: { msg: string, fields: Record<string, unknown> } | null
  }
}

/** Names the request's line and adds `fields` to it. */
export function logAs (request: FastifyRequest, msg: string, fields: Record<string, unknown>): void {
  request.logLine = { msg, fields }
}

async function requestLine (app: FastifyInstance, opts: { maxUrlLength: number }): Promise<void> {
  app.decorateRequest('logLine', null)
  app.addHook('onResponse', async (request, reply) => {
    // A route whose query carries a caller's data (the HighLevel proxy) is logged without it.
    const url = request.url.length > opts.maxUrlLength ? `[${request.url.length} characters]`
      : request.routeOptions.config.logQuery === false ? request.url.split('?')[0] : request.url
    const named = request.logLine
    const line = { ...named?.fields, method: request.method, url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }
    if (reply.statusCode >= 500) request.log.error(line, 'request failed')
    else request.log.info(line, named?.msg ?? 'request done')
  })
}

export default fp(requestLine, { name: 'request-line' })
