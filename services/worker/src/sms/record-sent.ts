import type { GroupCommit, OutboxMessage, SentWrite, SmsMessagesRepository } from '@ghl-connect/db'
import type { Logger } from '@ghl-connect/logging'
import type { SentIds, SentReceipts } from './sent-receipts.ts'

/**
 * The `sent` writes of jobs finishing together, one statement per group (`markSentMany`): each
 * job goes on only once its own row is committed, or learns its write failed.
 */
export type SentWrites = GroupCommit<SentWrite, OutboxMessage | null>

/**
 * HighLevel took the SMS (attempt `attemptId`); only our record of it is missing. The first write
 * shares a group with other jobs' (`sentWrites`); retrying the write (not the send) for a while
 * rides out a PostgreSQL blip, each retry alone, so a group that failed for one row's sake does
 * not hold the others. If it still fails the answer is kept in Redis, and the row stays
 * `sending`: whoever finds it later records it from there, or asks HighLevel. It is never sent
 * twice. null: a newer outcome was already written (the write is conditional on the attempt).
 */
export async function recordSent (
  messages: SmsMessagesRepository, sentWrites: SentWrites, receipts: SentReceipts, messageId: string, attemptId: string, sent: SentIds, log: Logger,
): Promise<OutboxMessage | null> {
  let tries = 0
  const write = () => tries++ === 0 ? sentWrites.write({ id: messageId, attemptId, ids: sent }) : messages.markSent(messageId, attemptId, sent)
  try {
    return await recordWithRetries(write, log, sent)
  } catch (err) {
    // Whoever finds this row `sending` later reads the answer from here instead of guessing.
    await receipts.remember(messageId, { attemptId, ...sent })
      .catch((redisErr) => log.error({ err: redisErr, ghlMessageId: sent.messageId }, 'the sent SMS could be recorded nowhere'))
    throw err
  }
}

async function recordWithRetries<T> (write: () => Promise<T>, log: Logger, sent: SentIds): Promise<T> {
  let lastError: unknown
  for (let i = 0; i < 6; i++) {
    try {
      return await write()
    } catch (err) {
      lastError = err
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** i))
    }
  }
  log.error({ err: lastError, ghlMessageId: sent.messageId }, 'HighLevel sent the SMS but it could not be recorded as sent')
  throw lastError
}
