/**
 * Bull Board at /admin/queues, behind HTTP basic auth with ADMIN_USER / ADMIN_PASSWORD. The
 * credentials are compared as SHA-256 digests in constant time (neither content nor length
 * leaks), and the hook sits in this plugin's own scope, so it guards the board and nothing else.
 *
 * Read-only unless ADMIN_READ_ONLY=false: an admin session (or a stolen one) can look, not add,
 * retry, change or remove jobs. Even a writable board cannot make the worker deliver an event it
 * adds to `crm-events`: events carry a MAC only our code can compute (@ghl-connect/queues).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { unauthorized } from '@ghl-connect/errors'
import { sameDigest, secretDigest } from '@ghl-connect/process-kit'
import { sendError } from '../app/error-handler.ts'

export const BULL_BOARD_PATH = '/admin/queues'

export default async function bullBoard (fastify: FastifyInstance) {
  const { queues, config } = fastify.runtime
  const user = secretDigest(config.http.admin.user)
  const password = secretDigest(config.http.admin.password)

  const checkCredentials = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : ''
    const sep = decoded.indexOf(':')
    // Both compared every time, so a right user name does not answer faster than a wrong one.
    const userOk = sameDigest(secretDigest(sep >= 0 ? decoded.slice(0, sep) : ''), user)
    const passwordOk = sameDigest(secretDigest(sep >= 0 ? decoded.slice(sep + 1) : ''), password)
    if (!(match && userOk && passwordOk)) {
      // Sent here rather than thrown: Bull Board's own error handler, which a thrown error would
      // reach, turns `error` into an object ({key: 'ERRORS.INTERNAL_SERVER_ERROR'}).
      return sendError(reply.header('www-authenticate', 'Basic realm="ghl-connect queues", charset="UTF-8"'),
        unauthorized('admin_credentials_required', 'Bull Board needs the admin user name and password (ADMIN_USER / ADMIN_PASSWORD).'))
    }
  }

  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(BULL_BOARD_PATH)
  createBullBoard({
    queues: [queues.sms, queues.tokens, queues.outbox, queues.crmEvents].map((q) => new BullMQAdapter(q, { readOnlyMode: config.http.admin.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ghl-connect' } },
  })
  await fastify.register(async (board) => {
    board.addHook('onRequest', checkCredentials)
    await board.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH })
  })
}
