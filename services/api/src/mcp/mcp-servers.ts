/**
 * The MCP servers of one api process, kept and lent instead of built per POST. Building one (every
 * tool's schema) cost about 4 ms of CPU; lending a kept one about 0.07 ms (measured, session 13).
 *
 * Why lending is correct with the SDK's stateless transport:
 *   - a server holds one transport at a time (the SDK's `connect` throws otherwise), and a server
 *     is lent to one request at a time, so it never sees another request's messages;
 *   - closing the request's transport aborts that request's handlers still running and forgets
 *     its JSON-RPC ids (the SDK's `_onclose`), so nothing of it reaches the next borrower;
 *   - the servers are kept per grant shape (the tools the caller may see), and whom a call acts for
 *     rides with each message (`authInfo`, read by the tools with `callOf`), never in the server:
 *     a tool of one client cannot run for another, whichever request borrowed the server last.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import type { Logger } from '@ghl-connect/logging'
import { createMcpServer, refuseOutOfScope, type McpCall, type McpDeps, type McpGrant, type McpSdk } from './mcp-tools.ts'

/**
 * Idle servers kept, in all: a server is about 175 KB of heap (measured), so at most about 11 MB,
 * after a burst of that many concurrent calls. Beyond it a server is built and dropped after use.
 */
const IDLE_MAX = 64

export class McpServers {
  private readonly idle = new Map<string, McpServer[]>()
  private idleCount = 0

  constructor (private readonly sdk: McpSdk, private readonly deps: McpDeps, private readonly version: string) {}

  /** Answers one POST (`body`: its parsed JSON-RPC message) for `grant`, in the same HTTP response. */
  async answer (request: IncomingMessage, response: ServerResponse, body: unknown, grant: McpGrant, logger: Logger): Promise<void> {
    const shape = shapeOf(grant)
    const kept = this.idle.get(shape)?.pop()
    if (kept) this.idleCount--
    const server = kept ?? createMcpServer(this.sdk, this.deps, grant.scopes, this.version)
    const transport = new this.sdk.StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    response.on('close', () => {
      // Closing the transport ends the server's connection: it may be lent again.
      server.close().then(() => this.giveBack(shape, server), () => { /* not kept: the next request builds one */ })
    })
    await server.connect(transport)
    refuseOutOfScope(this.sdk, transport, grant, logger)
    const call: McpCall = { clientId: grant.clientId, logger }
    const auth: AuthInfo = { token: '', clientId: grant.clientId, scopes: [], extra: { mcpCall: call } }
    await transport.handleRequest(Object.assign(request, { auth }), response, body)
  }

  private giveBack (shape: string, server: McpServer): void {
    if (this.idleCount >= IDLE_MAX) return
    const kept = this.idle.get(shape) ?? []
    kept.push(server)
    this.idle.set(shape, kept)
    this.idleCount++
  }
}

/** The tools a grant sees: every tool, or its scopes in a stable order. */
function shapeOf (grant: McpGrant): string {
  return grant.scopes === 'all' ? 'all' : [...grant.scopes].sort().join(' ')
}
