/**
 * Whether a queued SMS may go now: not before its send_at, and not inside the client's quiet
 * hours as they are set now (they may have changed since intake). A message pushed by quiet
 * hours has its row's send_at moved, so GET /api/sms/:id shows when it will go, and the
 * reconciler will not release it early after a Redis loss.
 */
import type { ClientSettings, ClientSettingsRepository, OutboxMessage, SmsMessagesRepository } from '@ghl-connect/db'
import { holdAtRelease } from '@ghl-connect/db'

/**
 * A client's settings are read once a second at most per process: a busy tenant's backlog runs
 * each job more than once (rate-limit slots), and quiet hours a second stale change nothing.
 */
const SETTINGS_FRESH_MS = 1000
const SETTINGS_KEPT_MAX = 10_000

export class SmsRelease {
  /** By client: its settings as read (or being read) at `readAt`; jobs of one client share a read under way. */
  private readonly recent = new Map<string, { settings: Promise<ClientSettings>, readAt: number }>()

  constructor (
    private readonly settings: Pick<ClientSettingsRepository, 'find'>,
    private readonly messages: Pick<SmsMessagesRepository, 'reschedule'>,
  ) {}

  /** How long the message must still wait (0: send now). */
  async waitMs (message: Pick<OutboxMessage, 'id' | 'clientId' | 'sendAt'> & { channel?: OutboxMessage['channel'] }, now = new Date()): Promise<number> {
    // A time not come yet needs no settings: they are read again when it comes.
    if (message.sendAt && message.sendAt.getTime() > now.getTime()) return message.sendAt.getTime() - now.getTime()
    // Quiet hours are for SMS (a text wakes a phone); an email goes at its time.
    if (message.channel === 'email') return 0
    const { quietHours } = await this.settingsOf(message.clientId, now.getTime())
    const hold = holdAtRelease(message.sendAt, quietHours, now)
    if (hold.kind === 'go') return 0
    // Moved on meanwhile (cancelled, or another attempt took it): nothing to hold, markSending will say so.
    if (hold.reschedule && !await this.messages.reschedule(message.id, hold.until)) return 0
    return hold.until.getTime() - now.getTime()
  }

  private settingsOf (clientId: string, now: number): Promise<ClientSettings> {
    const kept = this.recent.get(clientId)
    if (kept && now - kept.readAt < SETTINGS_FRESH_MS) return kept.settings
    const settings = this.settings.find(clientId)
    if (this.recent.size >= SETTINGS_KEPT_MAX) this.recent.clear()
    const entry = { settings, readAt: now }
    this.recent.set(clientId, entry)
    // A failed read is not kept: the next job reads again.
    settings.catch(() => { if (this.recent.get(clientId) === entry) this.recent.delete(clientId) })
    return settings
  }
}
