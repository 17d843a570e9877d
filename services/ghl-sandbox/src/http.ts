/** HighLevel's error shape `{statusCode, message, error}` (message is an array on 422), plus a traceId. */
import { STATUS_CODES } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { FastifyReply } from 'fastify'

export function ghlErrorBody (status: number, message: string | string[]): Record<string, unknown> {
  return { statusCode: status, message, error: STATUS_CODES[status] ?? 'Error', traceId: randomUUID() }
}

export function sendGhlError (reply: FastifyReply, status: number, message: string | string[]): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(ghlErrorBody(status, message))
}

export const MESSAGES = {
  invalidToken: 'Invalid token: access token is invalid',
  expiredToken: 'Invalid JWT',
  scope: 'The token is not authorized for this scope.',
  location: 'The token does not have access to this location',
  version: 'Version header is missing or is not a version this endpoint supports',
  rateLimited: 'Too Many Requests',
  fromNumber: 'fromNumber is not a phone number of this location',
  smsDnd: 'Cannot send SMS: the contact has DND (do not disturb) active for SMS',
  emailDnd: 'Cannot send email: the contact has DND (do not disturb) active for Email',
  noEmail: 'Cannot send email: the contact has no email address',
}
