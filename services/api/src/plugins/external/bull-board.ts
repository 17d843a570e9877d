/**
 * Bull Board at /admin/queues, behind HTTP basic auth with ADMIN_USER / ADMIN_PASSWORD (the check
 * shared with the connections page, security/admin-credentials.ts). The hook sits in this
 * plugin's own scope, so it guards the board and nothing else. The board's menu links to
 * /admin/connections, which links back.
 *
 * Read-only unless ADMIN_READ_ONLY=false: an admin session (or a stolen one) can look, not add,
 * retry, change or remove jobs. Even a writable board cannot make the worker deliver an event it
 * adds to `crm-events`: events carry a MAC only our code can compute (@ghl-connect/queues).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { ADMIN_PAGES, adminCredentials } from '../../security/admin-credentials.ts'
import { sendError } from '../app/error-handler.ts'

export const BULL_BOARD_PATH = ADMIN_PAGES.queues

export default async function bullBoard (fastify: FastifyInstance) {
  const { queues, config } = fastify.runtime
  const checkAdmin = adminCredentials(fastify, config.http.admin, 'Bull Board')

  const checkCredentials = async (request: FastifyRequest, reply: FastifyReply) => {
    // Like every page: no other site may frame the board (clickjacking a retry or a removal).
    reply.header('content-security-policy', "frame-ancestors 'self'").header('x-frame-options', 'SAMEORIGIN')
      .header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
    const refused = await checkAdmin(request, reply)
    // Sent here rather than thrown: Bull Board's own error handler, which a thrown error would
    // reach, turns `error` into an object ({key: 'ERRORS.INTERNAL_SERVER_ERROR'}).
    if (refused) return sendError(reply, refused)
  }

  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(BULL_BOARD_PATH)
  createBullBoard({
    queues: [queues.sms, queues.tokens, queues.outbox, queues.crmEvents].map((q) => new BullMQAdapter(q, { readOnlyMode: config.http.admin.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ghl-connect', miscLinks: [{ text: 'Connections', url: ADMIN_PAGES.connections }] } },
  })
  await fastify.register(async (board) => {
    board.addHook('onRequest', checkCredentials)
    await board.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH })
  })
}
