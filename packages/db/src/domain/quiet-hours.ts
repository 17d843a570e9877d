/**
 * Quiet hours: the one rule, shared by the api's intake and the worker's release, for when a
 * client's SMS may go out. Quiet hours are wall-clock times in the client's IANA time zone
 * ("21:00" to "08:00", America/New_York), so "08:00" is 08:00 local on either side of a DST
 * change; the conversion is Intl's (the zone database Node ships), never a fixed offset.
 */

export interface QuietHours {
  /** "HH:MM", 24-hour, local: no SMS from here... */
  start: string
  /** ...until here (exclusive). Earlier than `start`: the quiet hours span midnight. */
  end: string
  /** IANA, e.g. America/New_York. */
  timeZone: string
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/

/** What is wrong with these quiet hours (by field), or null when they are usable. */
export function quietHoursProblems (q: QuietHours): Record<string, string> | null {
  const problems: Record<string, string> = {}
  for (const field of ['start', 'end'] as const) {
    if (!HH_MM.test(q[field])) problems[`quietHours.${field}`] = `quietHours.${field} must be a 24-hour local time "HH:MM", e.g. "21:00".`
  }
  if (!problems['quietHours.start'] && q.start === q.end) problems['quietHours.end'] = 'quietHours.end must differ from quietHours.start (equal times would mean never or always quiet).'
  if (!isTimeZone(q.timeZone)) problems['quietHours.timeZone'] = 'quietHours.timeZone must be an IANA time zone name, e.g. "America/New_York" or "Europe/Berlin".'
  return Object.keys(problems).length > 0 ? problems : null
}

export function isTimeZone (name: string): boolean {
  if (!name.includes('/') && name !== 'UTC') return false // refuses "EST"-style abbreviations Intl would take
  try {
    formatter(name)
    return true
  } catch {
    return false
  }
}

/**
 * The first instant at or after `at` outside the quiet hours: `at` itself when it is not inside
 * them, else the moment the local clock next reads `end` (on a DST change that skips `end`, the
 * moment the clock jumps past it).
 */
export function nextAllowedTime (at: Date, q: QuietHours): Date {
  const start = minutesOf(q.start)
  const end = minutesOf(q.end)
  const local = wallClock(at.getTime(), q.timeZone)
  const minute = local.hour * 60 + local.minute + local.second / 60
  const inside = start < end ? minute >= start && minute < end : minute >= start || minute < end
  if (!inside) return at
  // Quiet hours that span midnight and began this evening end tomorrow.
  const dayAfter = start > end && minute >= start ? 1 : 0
  const endWall = Date.UTC(local.year, local.month - 1, local.day + dayAfter, Math.floor(end / 60), end % 60)
  return new Date(firstInstantAtWall(endWall, at.getTime(), q.timeZone))
}

/** The first instant after `after` whose local wall clock reads `wall` or later (wall as a UTC-encoded number). */
function firstInstantAtWall (wall: number, after: number, timeZone: string): number {
  // The two offsets around the moment: one zone transition at most within a day either side.
  const offsets = new Set([offsetAt(wall - 86_400_000, timeZone), offsetAt(wall + 86_400_000, timeZone)])
  const candidates = [...offsets].map((o) => wall - o).sort((a, b) => a - b)
  // The wall time exists (once, or twice when the clock falls back): the first occurrence after `after`.
  const [first] = candidates.filter((t) => wallOf(t, timeZone) === wall && t > after)
  if (first !== undefined) return first
  // Skipped by a spring-forward gap: the clock passes `wall` at the transition; find it by bisection (minutes).
  let lo = Math.min(...candidates)
  let hi = Math.max(...candidates)
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000
    if (wallOf(mid, timeZone) >= wall) hi = mid
    else lo = mid
  }
  return Math.max(hi, after)
}

interface WallClock { year: number, month: number, day: number, hour: number, minute: number, second: number }

const formatters = new Map<string, Intl.DateTimeFormat>()
function formatter (timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
    formatters.set(timeZone, f)
  }
  return f
}

function wallClock (t: number, timeZone: string): WallClock {
  const w: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  for (const p of formatter(timeZone).formatToParts(t)) if (p.type in w) w[p.type as keyof WallClock] = Number(p.value)
  return w
}

/** The local wall clock at `t`, as the UTC instant with the same reading (whole seconds). */
function wallOf (t: number, timeZone: string): number {
  const w = wallClock(t, timeZone)
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
}

/** The zone's offset from UTC at `t`, in ms (New York in winter: -5 h). */
function offsetAt (t: number, timeZone: string): number {
  const whole = t - (t % 1000)
  return wallOf(whole, timeZone) - whole
}

function minutesOf (hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))
}
