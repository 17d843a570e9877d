/**
 * `/mcp` (and `/mcp/:clientId`): the MCP endpoint for the CRM's assistant, Streamable HTTP in
 * stateless mode. Each POST builds the server for the client it names and answers in the same
 * HTTP response: no session lives in one replica's memory, so any api replica serves any call
 * behind a plain load balancer, and a restart loses nothing. The tools need no server-initiated
 * messages, so the standalone SSE stream (GET) and session end (DELETE) answer 405.
 * With the API key the request names its client (URL or X-Client-Id) and has every tool; with a
 * client access token it acts for the token's client and has the tools its scopes allow.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { AppError, badRequest } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import { createMcpServer, refuseOutOfScope, type McpGrant } from '../mcp/mcp-tools.ts'

const MCP_VERSION = '1.0.0'

const mcp: FastifyPluginAsync = async (fastify) => {
  const { smsIntake, smsMessages, ghlProxy } = fastify.runtime

  /** The clients a request names: the URL's, then the header's (a client access token must name its own, or none). */
  const namedClients = (request: FastifyRequest): string[] => {
    const header = request.headers['x-client-id']
    return [(request.params as { clientId?: string }).clientId, typeof header === 'string' ? header : undefined].filter((c) => c !== undefined)
  }

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const { caller } = request
    const token = caller?.kind === 'clientToken' ? caller.token : null
    const clientId = namedClients(request)[0] ?? token?.clientId
    if (!clientId || clientId.length > 128) {
      throw badRequest('client_id_required', 'Name the client this assistant acts for: the X-Client-Id header, or the URL /mcp/<clientId>.')
    }
    const grant: McpGrant = { clientId, scopes: token ? token.scopes : 'all' }
    const logger = request.log as Logger
    const server = createMcpServer({ smsIntake, messages: smsMessages, proxy: ghlProxy, logger }, grant, MCP_VERSION)
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    reply.hijack()
    reply.raw.on('close', () => { void transport.close(); void server.close() })
    await server.connect(transport)
    refuseOutOfScope(transport, grant, logger)
    await transport.handleRequest(request.raw, reply.raw, request.body)
  }
  const notHere = async () => {
    throw new AppError(405, 'method_not_allowed', 'This MCP endpoint is stateless: send every message as a POST (no session, no standalone stream).')
  }

  // A client access token: its own client only; which tools it sees is its scopes' business (mcp-tools.ts).
  const machine = { onRequest: fastify.requireApiKey, config: { clientToken: { scope: null, client: namedClients } }, schema: { hide: true } }
  for (const url of ['/mcp', '/mcp/:clientId']) {
    fastify.post(url, machine, handle)
    fastify.get(url, machine, notHere)
    fastify.delete(url, machine, notHere)
  }
}

export default mcp
