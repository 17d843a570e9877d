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
import { machineErrorResponses } from '../schemas/common.ts'

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

  // The document names the routes and our own answers; the messages are MCP's JSON-RPC (its spec, not ours).
  const described = (summary: string, response: Record<number, unknown>) => ({
    onRequest: fastify.requireApiKey,
    schema: { tags: ['mcp'], summary, security: [{ apiKey: [] }], response },
  })
  for (const url of ['/mcp', '/mcp/:clientId']) {
    const who = url === '/mcp' ? 'the client named by the X-Client-Id header' : 'the client in the path'
    fastify.post(url, described(`An MCP message (JSON-RPC, Streamable HTTP, stateless) for ${who}; 400 client_id_required without one`,
      { 200: { description: 'The JSON-RPC answer (application/json)' }, ...machineErrorResponses() }), handle)
    fastify.get(url, described('405 method_not_allowed: the endpoint is stateless (no standalone stream)', machineErrorResponses(405)), notHere)
    fastify.delete(url, described('405 method_not_allowed: the endpoint is stateless (no session to end)', machineErrorResponses(405)), notHere)
  }
}

export default mcp
