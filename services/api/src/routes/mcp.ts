/**
 * `/mcp` (and `/mcp/:clientId`): the MCP endpoint for the CRM's assistant, Streamable HTTP in
 * stateless mode. Each POST borrows a server for its grant's tools (mcp/mcp-servers.ts) and is
 * answered in the same HTTP response: no session lives in one replica's memory, so any api replica serves any call
 * behind a plain load balancer, and a restart loses nothing. The tools need no server-initiated
 * messages, so the standalone SSE stream (GET) and session end (DELETE) answer 405.
 * With the API key the request names its client (URL or X-Client-Id) and has every tool; with a
 * client access token it acts for the token's client and has the tools its scopes allow.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, badRequest } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import { McpServers } from '../mcp/mcp-servers.ts'
import { mcpSdk, type McpGrant } from '../mcp/mcp-tools.ts'
import { machineErrorResponses } from '../schemas/common.ts'

const MCP_VERSION = '1.0.0'

const mcp: FastifyPluginAsync = async (fastify) => {
  const { smsIntake, emailIntake, smsMessages, ghlProxy } = fastify.runtime
  // Built with the SDK, which the first MCP request loads.
  let servers: Promise<McpServers> | null = null
  const mcpServers = () => {
    servers ??= mcpSdk().then((sdk) => new McpServers(sdk, { smsIntake, emailIntake, messages: smsMessages, proxy: ghlProxy }, MCP_VERSION))
      .catch((err: unknown) => { servers = null; throw err })
    return servers
  }

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
    const lender = await mcpServers()
    reply.hijack()
    await lender.answer(request.raw, reply.raw, request.body, grant, request.log as Logger)
  }
  const notHere = async () => {
    throw new AppError(405, 'method_not_allowed', 'This MCP endpoint is stateless: send every message as a POST (no session, no standalone stream).')
  }

  // The document names the routes and our own answers; the messages are MCP's JSON-RPC (its spec, not ours).
  // A client access token: its own client only; which tools it sees is its scopes' business (mcp-tools.ts).
  const described = (summary: string, response: Record<number, unknown>) => ({
    onRequest: fastify.requireApiKey,
    config: { clientToken: { scope: null, client: namedClients } },
    schema: { tags: ['mcp'], summary, security: [{ apiKey: [] }], response },
  })
  for (const url of ['/mcp', '/mcp/:clientId']) {
    const who = url === '/mcp' ? 'the client of the client access token, or the one named by the X-Client-Id header' : 'the client in the path'
    fastify.post(url, described(`An MCP message (JSON-RPC, Streamable HTTP, stateless) for ${who}; 400 client_id_required without one`,
      { 200: { description: 'The JSON-RPC answer (application/json)' }, ...machineErrorResponses() }), handle)
    fastify.get(url, described('405 method_not_allowed: the endpoint is stateless (no standalone stream)', machineErrorResponses(405)), notHere)
    fastify.delete(url, described('405 method_not_allowed: the endpoint is stateless (no session to end)', machineErrorResponses(405)), notHere)
  }
}

export default mcp
