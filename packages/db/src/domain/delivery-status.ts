/**
 * The delivery status of a sent SMS, as HighLevel reports it (OutboundMessage webhooks): which
 * statuses we keep, which report supersedes which, and the `sms.delivery` event a row's status
 * makes. Pure; the SQL is repositories/sms-delivery-statuses.ts.
 */
import type { DeliveryStatus, SmsMessageRow } from '../schema/index.ts'
import { crmEventOf, type NewCrmEvent } from './crm-events.ts'

/**
 * How far along a status is: a report never moves a message back (a late `sent` after
 * `delivered`). Between final statuses of one rank the later report wins. `unknown` (ours: still
 * pending past the timeout, HighLevel asked) is above `pending` only: any report of HighLevel's
 * that comes after all replaces it.
 */
export const DELIVERY_RANK: Record<DeliveryStatus, number> = { pending: 0, unknown: 0.5, sent: 1, delivered: 2, undelivered: 2, failed: 2, bounced: 2, read: 3, opened: 3 }

/** Whether `next` replaces what a row holds. */
export function supersedes (next: { status: DeliveryStatus, reportedAt: Date }, held: { status: DeliveryStatus | null, at: Date | null }): boolean {
  if (held.status === null) return true
  const by = DELIVERY_RANK[next.status] - DELIVERY_RANK[held.status]
  if (by !== 0) return by > 0
  return next.status !== held.status && (held.at === null || next.reportedAt >= held.at)
}

/**
 * HighLevel's status as one we keep, or null for one we do not (`clicked`, ...). `opened` and
 * `bounced` are email's. `unknown` is never HighLevel's word: only the delivery timeout sets it.
 */
export function deliveryStatusOf (value: unknown): DeliveryStatus | null {
  return typeof value === 'string' && value !== 'unknown' && Object.hasOwn(DELIVERY_RANK, value) ? value as DeliveryStatus : null
}

/** The event for the row's delivery status; `pending` (HighLevel's answer to the send) is already told by `sms.sent`. */
export function deliveryEvent (message: SmsMessageRow): NewCrmEvent | null {
  const status = message.deliveryStatus
  if (status === null || status === 'pending') return null
  return crmEventOf.smsDelivery({ ...message, deliveryStatus: status })
}
