/**
 * What GET /api/sms/:id and GET /api/email/:id both answer about an outbox row: its state,
 * attempts, HighLevel's ids and delivery. Each channel adds its own fields (SMS: the sender's
 * number; email: nothing more yet).
 */
import type { OutboxMessage } from '@ghl-connect/db'

export function outboxView (m: OutboxMessage) {
  return {
    id: m.id,
    status: m.status,
    attempts: m.attempts,
    error: m.errorCode ? { code: m.errorCode, message: m.errorMessage ?? '' } : null,
    ghlMessageId: m.ghlMessageId,
    conversationId: m.ghlConversationId,
    createdAt: m.createdAt.toISOString(),
    sendAt: m.sendAt?.toISOString() ?? null,
    sentAt: m.sentAt?.toISOString() ?? null,
    deliveryStatus: m.deliveryStatus,
    deliveryError: m.deliveryErrorCode !== null || m.deliveryErrorMessage !== null ? { code: m.deliveryErrorCode, message: m.deliveryErrorMessage } : null,
    deliveryUpdatedAt: m.deliveryUpdatedAt?.toISOString() ?? null,
  }
}
