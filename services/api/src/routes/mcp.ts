/**
 * `/mcp` (and `/mcp/:clientId`): the MCP endpoint for the CRM's assistant, Streamable HTTP in
 * stateless mode. Each POST builds the server for the client it names and answers in the same
 * HTTP response: no session lives in one replica's memory, so any api replica serves any call
 * behind a plain load balancer, and a restart loses nothing. The tools need no server-initiated
 * messages, so the standalone SSE stream (GET) and session end (DELETE) answer 405.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { AppError, badRequest } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import { createMcpServer } from '../mcp/mcp-tools.ts'

const MCP_VERSION = '1.0.0'

const mcp: FastifyPluginAsync = async (fastify) => {
  const { smsIntake, smsMessages, ghlProxy } = fastify.runtime

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['x-client-id']
    const clientId = (request.params as { clientId?: string }).clientId ?? (typeof header === 'string' ? header : undefined)
    if (!clientId || clientId.length > 128) {
      throw badRequest('client_id_required', 'Name the client this assistant acts for: the X-Client-Id header, or the URL /mcp/<clientId>.')
    }
    const server = createMcpServer({ smsIntake, messages: smsMessages, proxy: ghlProxy, logger: request.log as Logger }, clientId, MCP_VERSION)
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    reply.hijack()
    reply.raw.on('close', () => { void transport.close(); void server.close() })
    await server.connect(transport)
    await transport.handleRequest(request.raw, reply.raw, request.body)
  }
  const notHere = async () => {
    throw new AppError(405, 'method_not_allowed', 'This MCP endpoint is stateless: send every message as a POST (no session, no standalone stream).')
  }

  for (const url of ['/mcp', '/mcp/:clientId']) {
    fastify.post(url, { onRequest: fastify.requireApiKey, schema: { hide: true } }, handle)
    fastify.get(url, { onRequest: fastify.requireApiKey, schema: { hide: true } }, notHere)
    fastify.delete(url, { onRequest: fastify.requireApiKey, schema: { hide: true } }, notHere)
  }
}

export default mcp
