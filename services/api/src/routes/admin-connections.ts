/**
 * /admin/connections: every client's connection by health, broken first, for ops. Behind the
 * admin credentials Bull Board takes (the one check, security/admin-credentials.ts). Filters are
 * query parameters, so a view can be bookmarked or pasted into a ticket; a bad one answers a
 * 400 page naming it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '@ghl-connect/errors'
import { connectionHealths, type ConnectionHealth, type ConnectionsFilter } from '@ghl-connect/db'
import { sendPage } from '../pages/layout.ts'
import { connectionsPage, CONNECTIONS_PAGE_SIZE } from '../pages/admin-connections.ts'
import { ADMIN_PAGES, adminCredentials } from '../security/admin-credentials.ts'

const ConnectionsQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 200, description: `One or more of ${connectionHealths.join(', ')}, comma-separated` })),
  q: Type.Optional(Type.String({ maxLength: 128, description: 'A part of the client id or the location id' })),
  page: Type.Optional(Type.String({ maxLength: 7, description: 'Page number, from 1' })),
}, { additionalProperties: false })

const adminConnections: FastifyPluginAsyncTypebox = async (fastify) => {
  const { connectionsOverview, messagesOverview, config } = fastify.runtime
  const checkAdmin = adminCredentials(fastify, config.http.admin, 'The connections page')
  const expiringWithinMs = config.tokens.sweepHorizonMs

  fastify.addHook('onRequest', async (request, reply) => {
    const refused = await checkAdmin(request, reply)
    if (refused) throw refused
  })

  fastify.get(ADMIN_PAGES.connections, {
    config: { answer: 'page' },
    schema: { hide: true, querystring: ConnectionsQuery },
  }, async (request, reply) => {
    const filter = parseFilter(request.query)
    const page = parsePage(request.query.page)
    const now = new Date()
    const [counts, listed, messages] = await Promise.all([
      connectionsOverview.countByHealth({ expiringWithinMs, now }),
      connectionsOverview.list({ ...filter, limit: CONNECTIONS_PAGE_SIZE, offset: (page - 1) * CONNECTIONS_PAGE_SIZE, expiringWithinMs, now }),
      messagesOverview.countsByChannel(new Date(now.getTime() - 24 * 3_600_000)),
    ])
    return sendPage(reply, 200, connectionsPage({ counts, listed, filter, page, now, expiringWithinMs, messages }))
  })
}

function parseFilter (query: { status?: string, q?: string }): ConnectionsFilter {
  const health = (query.status ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = health.find((h) => !(connectionHealths as readonly string[]).includes(h))
  if (unknown !== undefined) {
    throw badRequest('invalid_status_filter', `status must be one or more of ${connectionHealths.join(', ')}, separated by commas; "${unknown.slice(0, 40)}" is none of them.`)
  }
  const search = query.q?.trim() ?? ''
  if (/[\u0000-\u001f\u007f]/.test(search)) throw badRequest('invalid_search', 'q (the search) cannot contain control characters; search for a part of a client or location id.')
  return { health: health as ConnectionHealth[], search: search || undefined }
}

function parsePage (page: string | undefined): number {
  if (page === undefined || page === '') return 1
  if (!/^[1-9][0-9]{0,5}$/.test(page)) throw badRequest('invalid_page', 'page must be a whole number from 1 (at most 999999); remove it for the first page.')
  return Number(page)
}

export default adminConnections
