/**
 * The tools the CRM's assistant calls over MCP, for one client. SMS and email go through the intake (the
 * outbox and the worker: the same no-loss, no-duplicate guarantees as POST /api/sms); everything
 * else through the HighLevel proxy (the client's token, the shared rate limit, the safe retries).
 * A failure is a tool error whose text is `{error, message}` with our stable codes.
 * Each tool needs a scope (TOOL_SCOPES): a client access token sees only the tools its scopes
 * allow, and a call to another is the tool error insufficient_scope. The API key has them all.
 */
import { randomUUID } from 'node:crypto'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { CallToolResult, JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js'
import type { Scope } from '@ghl-connect/access-tokens'
import { z } from 'zod'
import type { SmsMessagesRepository } from '@ghl-connect/db'
import { isAppError } from '@ghl-connect/errors'
import type { Logger } from '@ghl-connect/logging'
import type { GhlProxy } from '../ghl-proxy/proxy-service.ts'
import type { EmailIntake } from '../email/email-intake.ts'
import { EMAIL_BODY_MAX_BYTES, EMAIL_SUBJECT_MAX } from '../schemas/email.ts'
import { SMS_MAX_LENGTH } from '../schemas/sms.ts'
import type { SmsIntake } from '../sms/sms-intake.ts'

export interface McpDeps {
  smsIntake: SmsIntake
  emailIntake: EmailIntake
  messages: SmsMessagesRepository
  proxy: GhlProxy
}

/**
 * Whom one MCP message acts for and where its lines go. It rides with the message (the transport's
 * `authInfo`, set from the HTTP request: mcp-servers.ts), never in the server, which serves one
 * request after another.
 */
export interface McpCall { clientId: string, logger: Logger }

/** The call a message carries; a message without one is refused (it cannot come from our route). */
export function callOf (extra: { authInfo?: { extra?: Record<string, unknown> } }): McpCall {
  const call = extra.authInfo?.extra?.mcpCall as McpCall | undefined
  if (!call) throw new Error('an MCP message arrived without the call it acts for')
  return call
}

/** The scope each tool needs. */
export const TOOL_SCOPES = {
  send_sms: 'sms:send',
  sms_status: 'sms:read',
  send_email: 'email:send',
  email_status: 'email:read',
  find_contacts: 'contacts:read',
  get_contact: 'contacts:read',
  upsert_contact: 'contacts:write',
  search_opportunities: 'opportunities:read',
  list_pipelines: 'opportunities:read',
  get_calendar_events: 'calendars:read',
} as const satisfies Record<string, Scope>
type ToolName = keyof typeof TOOL_SCOPES

/** Whom the server acts for and what it may do: every tool (the API key), or a client access token's scopes. */
export interface McpGrant {
  clientId: string
  scopes: ReadonlySet<Scope> | 'all'
}

const granted = (grant: Pick<McpGrant, 'scopes'>, tool: ToolName) => grant.scopes === 'all' || grant.scopes.has(TOOL_SCOPES[tool])

/** A failure the assistant is told about: a stable code and a sentence. */
class ToolError extends Error {
  constructor (readonly code: string, message: string, readonly details: Record<string, unknown> = {}) { super(message) }
}

/**
 * The MCP SDK, loaded by the first MCP request rather than at start: it is about 30 MB of a
 * process's memory (measured: 41 -> 70 MB RSS for a bare node importing it), which an api that
 * is never asked for MCP does not pay. Loaded once; a failed load is tried again next time.
 */
let sdkLoading: Promise<McpSdk> | null = null
export interface McpSdk {
  McpServer: typeof import('@modelcontextprotocol/sdk/server/mcp.js').McpServer
  StreamableHTTPServerTransport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport
  isJSONRPCRequest: typeof import('@modelcontextprotocol/sdk/types.js').isJSONRPCRequest
}
export function mcpSdk (): Promise<McpSdk> {
  sdkLoading ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/mcp.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([server, transport, types]) => ({ McpServer: server.McpServer, StreamableHTTPServerTransport: transport.StreamableHTTPServerTransport, isJSONRPCRequest: types.isJSONRPCRequest }))
    .catch((err: unknown) => { sdkLoading = null; throw err })
  return sdkLoading
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' }

/**
 * A server for every request of one grant shape (`scopes`): tools outside it are not registered,
 * so tools/list omits them; `refuseOutOfScope` answers a call to one. The client each tool acts
 * for is the message's (`callOf`), not the server's.
 */
export function createMcpServer (sdk: McpSdk, deps: McpDeps, scopes: McpGrant['scopes'], version: string): McpServer {
  const grant = { scopes }
  const server = new sdk.McpServer({ name: 'ghl-connect', version })

  /** One call through the proxy; HighLevel's refusals become tool errors naming its status. */
  const highLevel = async (clientId: string, method: 'GET' | 'POST', path: string, query: Record<string, string | undefined> = {}, json?: object): Promise<Record<string, any>> => {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''))
    const answer = await deps.proxy.forward({
      clientId, method, path, query: params.toString(), headers: JSON_HEADERS, body: json ? Buffer.from(JSON.stringify(json)) : undefined,
    })
    let body: any
    try { body = JSON.parse(answer.body.toString('utf8')) } catch { body = undefined }
    if (answer.status < 200 || answer.status >= 300) {
      const said = Array.isArray(body?.message) ? body.message.join('; ') : typeof body?.message === 'string' ? body.message : `status ${answer.status}`
      throw new ToolError(answer.status === 429 ? 'ghl_rate_limited' : 'ghl_error', `GoHighLevel refused the call (${answer.status}): ${said}`, { ghlStatus: answer.status })
    }
    return body ?? {}
  }

  const tool = <Shape extends z.ZodRawShape>(name: ToolName, description: string, inputSchema: Shape, run: (args: z.infer<z.ZodObject<Shape>>, clientId: string) => Promise<unknown>) => {
    if (!granted(grant, name)) return
    server.registerTool(name, { description, inputSchema }, (async (args: z.infer<z.ZodObject<Shape>>, extra: Parameters<typeof callOf>[0]): Promise<CallToolResult> => {
      const { clientId, logger } = callOf(extra)
      try {
        const result = await run(args, clientId)
        logger.info({ audit: 'mcp_tool', clientId, tool: name, outcome: 'ok' }, 'MCP tool call')
        return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result as Record<string, unknown> }
      } catch (err) {
        const failure = err instanceof ToolError ? { error: err.code, message: err.message, ...err.details }
          : isAppError(err) ? { error: err.code, message: err.message, ...(err.details?.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.details.retryAfterSeconds } : {}) }
            : null
        if (!failure) {
          // Ours, not the caller's: the SDK would hand the error's own text (a failed query's
          // parameters, personal data) to the assistant. It is logged (redacted) and named, never shown.
          logger.error({ err, audit: 'mcp_tool', clientId, tool: name, outcome: 'internal_error' }, 'MCP tool call failed')
          return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: 'internal_error', message: 'Something went wrong on our side; try again in a moment.' }) }] }
        }
        logger.info({ audit: 'mcp_tool', clientId, tool: name, outcome: failure.error }, 'MCP tool call')
        return { isError: true, content: [{ type: 'text', text: JSON.stringify(failure) }] }
      }
    }) as never)
  }

  tool('send_sms', 'Send an SMS to one contact of this client\'s GoHighLevel sub-account: by contact id, by phone (E.164) or by exact full name. Queued at once and sent by the worker; read the outcome with sms_status.', {
    // The limits of POST /api/sms's schema (schemas/sms.ts), so the intake sees what its route would let through.
    contactId: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/).optional().describe('GoHighLevel contact id'),
    phone: z.string().min(1).max(32).optional().describe('E.164 phone number, e.g. +15550100001'),
    name: z.string().min(1).max(200).optional().describe('the contact\'s exact full name, e.g. "Lina Park"'),
    message: z.string().min(1).max(SMS_MAX_LENGTH).describe('the SMS text'),
    idempotencyKey: z.string().min(1).max(255).regex(/^[\x21-\x7E]+$/).optional().describe('the same key answers the first message again instead of sending twice'),
  }, async ({ contactId, phone, name, message, idempotencyKey }, clientId) => {
    const to = { ...(contactId !== undefined ? { contactId } : {}), ...(phone !== undefined ? { phone } : {}), ...(name !== undefined ? { name } : {}) }
    const { id, status } = await deps.smsIntake.accept({ clientId, to, message, idempotencyKey: idempotencyKey ?? `mcp-${randomUUID()}` })
    return { id, status }
  })

  tool('sms_status', 'The status of an SMS send_sms queued: queued, sending, sent or failed, with the error when it failed.', {
    id: z.string().min(1).describe('the id send_sms answered'),
  }, async ({ id }, clientId) => {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await deps.messages.findById(id) : null
    // Another client's SMS is as unknown as a missing one.
    if (!row || row.clientId !== clientId || row.channel !== 'sms') throw new ToolError('sms_not_found', `There is no SMS with id ${id} for this client; use the id send_sms answered.`)
    return deps.smsIntake.view(id)
  })

  tool('send_email', 'Send an email to one contact of this client\'s GoHighLevel sub-account: by contact id, by email address or by exact full name. Queued at once and sent by the worker; read the outcome with email_status.', {
    // The limits of POST /api/email's schema (schemas/email.ts); the intake checks the rest and answers invalid_request naming the field.
    contactId: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/).optional().describe('GoHighLevel contact id'),
    email: z.string().min(3).max(254).optional().describe('the contact\'s email address'),
    name: z.string().min(1).max(200).optional().describe('the contact\'s exact full name, e.g. "Lina Park"'),
    subject: z.string().min(1).max(EMAIL_SUBJECT_MAX).describe('the subject'),
    text: z.string().min(1).max(EMAIL_BODY_MAX_BYTES).optional().describe('the body as plain text (text or html is required)'),
    html: z.string().min(1).max(EMAIL_BODY_MAX_BYTES).optional().describe('the body as HTML'),
    createContact: z.boolean().optional().describe('with email: create the contact when no contact has the address'),
    idempotencyKey: z.string().min(1).max(255).regex(/^[\x21-\x7E]+$/).optional().describe('the same key answers the first message again instead of sending twice'),
  }, async ({ contactId, email, name, subject, text, html, createContact, idempotencyKey }, clientId) => {
    const to = { ...(contactId !== undefined ? { contactId } : {}), ...(email !== undefined ? { email } : {}), ...(name !== undefined ? { name } : {}) }
    const { id, status } = await deps.emailIntake.accept({
      clientId, to, subject, ...(text !== undefined ? { text } : {}), ...(html !== undefined ? { html } : {}), ...(createContact !== undefined ? { createContact } : {}),
      idempotencyKey: idempotencyKey ?? `mcp-${randomUUID()}`,
    })
    return { id, status }
  })

  tool('email_status', 'The status of an email send_email queued: queued, sending, sent or failed, with the error when it failed, and its delivery status.', {
    id: z.string().min(1).describe('the id send_email answered'),
  }, async ({ id }, clientId) => {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await deps.messages.findById(id) : null
    if (!row || row.clientId !== clientId || row.channel !== 'email') throw new ToolError('email_not_found', `There is no email with id ${id} for this client; use the id send_email answered.`)
    return deps.emailIntake.view(id)
  })

  tool('find_contacts', 'Search the sub-account\'s contacts by name, email, phone or any text.', {
    query: z.string().describe('what to look for'),
    limit: z.number().int().min(1).max(100).optional().describe('at most this many (default 20)'),
  }, async ({ query, limit }, clientId) => {
    const { contacts, total } = await highLevel(clientId, 'POST', '/contacts/search', {}, { query, pageLimit: limit ?? 20 })
    return { contacts, total }
  })

  tool('get_contact', 'One contact by its GoHighLevel id.', {
    contactId: z.string().min(1),
  }, async ({ contactId }, clientId) => highLevel(clientId, 'GET', `/contacts/${encodeURIComponent(contactId)}`))

  tool('upsert_contact', 'Create a contact, or update the one with this phone or email.', {
    phone: z.string().optional(), email: z.string().optional(), name: z.string().optional(), firstName: z.string().optional(), lastName: z.string().optional(),
  }, async (fields, clientId) => highLevel(clientId, 'POST', '/contacts/upsert', {}, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))))

  tool('search_opportunities', 'Search the sub-account\'s opportunities (deals).', {
    query: z.string().optional().describe('text in the opportunity\'s or its contact\'s name'),
    status: z.enum(['open', 'won', 'lost', 'abandoned', 'all']).optional(),
    pipelineId: z.string().optional(), contactId: z.string().optional(),
    limit: z.number().int().min(1).max(100).optional(),
  }, async ({ query, status, pipelineId, contactId, limit }, clientId) => {
    const { opportunities, meta } = await highLevel(clientId, 'GET', '/opportunities/search', { q: query, status, pipeline_id: pipelineId, contact_id: contactId, limit: limit === undefined ? undefined : String(limit) })
    return { opportunities, total: meta?.total }
  })

  tool('list_pipelines', 'The sub-account\'s opportunity pipelines and their stages.', {}, async (_args, clientId) => highLevel(clientId, 'GET', '/opportunities/pipelines'))

  tool('get_calendar_events', 'Appointments between two times, of one calendar or user, or of every calendar when neither is given.', {
    startTime: z.string().describe('ISO 8601, e.g. 2026-01-12T00:00:00Z'),
    endTime: z.string().describe('ISO 8601'),
    calendarId: z.string().optional(), userId: z.string().optional(),
  }, async ({ startTime, endTime, calendarId, userId }, clientId) => {
    const start = Date.parse(startTime)
    const end = Date.parse(endTime)
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new ToolError('invalid_request', 'startTime and endTime must be ISO 8601 dates, e.g. 2026-01-12T00:00:00Z.')
    const range = { startTime: String(start), endTime: String(end) }
    if (calendarId || userId) return highLevel(clientId, 'GET', '/calendars/events', { ...range, calendarId, userId })
    const { calendars = [] } = await highLevel(clientId, 'GET', '/calendars/')
    const events = []
    for (const calendar of calendars as Array<{ id: string }>) events.push(...((await highLevel(clientId, 'GET', '/calendars/events', { ...range, calendarId: calendar.id })).events ?? []))
    return { events }
  })

  return server
}

/**
 * A call to a tool the grant leaves out is answered here, as the tool error insufficient_scope,
 * before the server (which never registered it) would call it unknown. Call after `connect`.
 */
export function refuseOutOfScope ({ isJSONRPCRequest }: McpSdk, transport: Transport, grant: McpGrant, logger: Logger): void {
  const deliver = transport.onmessage
  transport.onmessage = (message, extra) => {
    const name = isJSONRPCRequest(message) && message.method === 'tools/call' ? (message.params as { name?: unknown } | undefined)?.name : undefined
    if (typeof name !== 'string' || !Object.hasOwn(TOOL_SCOPES, name) || granted(grant, name as ToolName)) {
      deliver?.(message, extra)
      return
    }
    const scope = TOOL_SCOPES[name as ToolName]
    logger.info({ audit: 'mcp_tool', clientId: grant.clientId, tool: name, outcome: 'insufficient_scope' }, 'MCP tool call')
    const failure = { error: 'insufficient_scope', message: `This access token may not call ${name}: it needs the scope "${scope}"; ask the CRM for a token with it.`, scope }
    const answer: JSONRPCResponse = { jsonrpc: '2.0', id: (message as { id: string | number }).id, result: { isError: true, content: [{ type: 'text', text: JSON.stringify(failure) }] } }
    void transport.send(answer)
  }
}
