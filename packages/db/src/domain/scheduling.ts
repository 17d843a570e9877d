/**
 * When an SMS may go out: the CRM's `sendAt`, pushed past the client's quiet hours. The api applies
 * it at intake (the row's send_at records the result), the worker again at release (the settings
 * may have changed meanwhile). Scheduled messages wait in the outbox, not in HighLevel's scheduler,
 * so they stay cancellable, survive a Redis loss and pass the rate limiter when they go.
 */
import { nextAllowedTime, type QuietHours } from './quiet-hours.ts'

/** The furthest ahead a message can be scheduled. */
export const SCHEDULE_MAX_AHEAD_MS = 30 * 86_400_000
/** A sendAt this little in the past (clock skew, a slow request) means "now"; earlier is refused. */
export const SCHEDULE_PAST_GRACE_MS = 60_000
/**
 * A scheduled message gets its (delayed) send job this long before its time: at intake when it is
 * due that soon, else from the outbox reconciler. Far-off messages hold nothing in Redis.
 */
export const SCHEDULE_QUEUE_AHEAD_MS = 15 * 60_000

/**
 * The send_at to store for a new message: the requested time (or now) pushed past quiet hours;
 * null when it goes at once.
 */
export function sendAtForNewMessage (requested: Date | null, quietHours: QuietHours | null, now: Date): Date | null {
  const due = requested ?? now
  const allowed = quietHours ? nextAllowedTime(due, quietHours) : due
  return requested !== null || allowed.getTime() > due.getTime() ? allowed : null
}

/**
 * At release: whether the message must wait, and until when. `reschedule` when quiet hours (as
 * set now) push it further than its row says: the row's send_at is to be moved there.
 */
export function holdAtRelease (sendAt: Date | null, quietHours: QuietHours | null, now: Date):
  { kind: 'go' } | { kind: 'wait', until: Date, reschedule: boolean } {
  if (sendAt && sendAt.getTime() > now.getTime()) return { kind: 'wait', until: sendAt, reschedule: false }
  const allowed = quietHours ? nextAllowedTime(now, quietHours) : now
  return allowed.getTime() > now.getTime() ? { kind: 'wait', until: allowed, reschedule: true } : { kind: 'go' }
}
