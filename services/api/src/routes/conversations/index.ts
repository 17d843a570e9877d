/** A client's SMS thread with one contact, read from HighLevel (conversations/conversation-service.ts). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { machineErrorResponses } from '../../schemas/common.ts'
import { ConversationParams, ConversationQuery, ConversationThread } from '../../schemas/conversations.ts'

const conversations: FastifyPluginAsyncTypebox = async (fastify) => {
  const { conversationService } = fastify.runtime

  fastify.get('/:clientId/:contactId/messages', {
    onRequest: fastify.requireApiKey,
    config: { clientToken: { scope: 'conversations:read', client: 'params' } },
    schema: {
      tags: ['conversations'], summary: 'The messages of a client\'s conversation with a contact, newest first, a page at a time', security: [{ apiKey: [] }],
      params: ConversationParams,
      querystring: ConversationQuery,
      response: { 200: ConversationThread, ...machineErrorResponses(403, 404, 409, 503) },
    },
  }, async (request) => {
    const { clientId, contactId } = request.params
    const { lastMessageId, limit } = request.query
    return conversationService.thread(clientId, contactId, { lastMessageId, limit: limit === undefined ? undefined : Number(limit) })
  })
}

export default conversations
