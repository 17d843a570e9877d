import t from 'tap'
import { holdAtRelease, nextAllowedTime, quietHoursProblems, sendAtForNewMessage, type QuietHours } from '../src/index.ts'

const NEW_YORK: QuietHours = { start: '21:00', end: '08:00', timeZone: 'America/New_York' }
const at = (iso: string) => new Date(iso)
const iso = (d: Date | null) => d?.toISOString() ?? null

t.test('outside quiet hours a message goes at its time', async (t) => {
  t.equal(iso(nextAllowedTime(at('2026-06-10T16:00:00Z'), NEW_YORK)), '2026-06-10T16:00:00.000Z', 'noon in New York')
  t.equal(iso(nextAllowedTime(at('2026-06-10T12:00:00Z'), NEW_YORK)), '2026-06-10T12:00:00.000Z', '08:00 sharp is allowed')
})

t.test('inside quiet hours that span midnight: pushed to 08:00 local the next morning, or the same morning after midnight', async (t) => {
  t.equal(iso(nextAllowedTime(at('2026-06-11T02:00:00Z'), NEW_YORK)), '2026-06-11T12:00:00.000Z', '22:00 EDT -> 08:00 EDT next day')
  t.equal(iso(nextAllowedTime(at('2026-06-11T07:00:00Z'), NEW_YORK)), '2026-06-11T12:00:00.000Z', '03:00 EDT -> 08:00 EDT same day')
  t.equal(iso(nextAllowedTime(at('2026-06-11T01:00:00Z'), NEW_YORK)), '2026-06-11T12:00:00.000Z', '21:00 sharp is quiet')
})

t.test('across the spring DST change 08:00 is 08:00 local: 12:00Z, not 13:00Z', async (t) => {
  // 2026-03-08 02:00 EST -> 03:00 EDT. 22:00 EST on the 7th is 03:00Z on the 8th.
  t.equal(iso(nextAllowedTime(at('2026-03-08T03:00:00Z'), NEW_YORK)), '2026-03-08T12:00:00.000Z')
})

t.test('across the autumn DST change 08:00 is 08:00 local: 13:00Z, not 12:00Z', async (t) => {
  // 2026-11-01 02:00 EDT -> 01:00 EST. 22:00 EDT on Oct 31 is 02:00Z on Nov 1.
  t.equal(iso(nextAllowedTime(at('2026-11-01T02:00:00Z'), NEW_YORK)), '2026-11-01T13:00:00.000Z')
})

t.test('quiet hours ending at a local time the spring change skips end when the clock jumps past it', async (t) => {
  const q: QuietHours = { start: '23:00', end: '02:30', timeZone: 'America/New_York' }
  // 01:00 EST on 2026-03-08 (06:00Z); at 07:00Z the clock jumps from 02:00 EST to 03:00 EDT.
  t.equal(iso(nextAllowedTime(at('2026-03-08T06:00:00Z'), q)), '2026-03-08T07:00:00.000Z')
})

t.test('quiet hours within a day, in a zone east of UTC', async (t) => {
  const q: QuietHours = { start: '12:00', end: '14:00', timeZone: 'Asia/Kolkata' }
  t.equal(iso(nextAllowedTime(at('2026-01-05T07:00:00Z'), q)), '2026-01-05T08:30:00.000Z', '12:30 IST -> 14:00 IST')
  t.equal(iso(nextAllowedTime(at('2026-01-05T09:00:00Z'), q)), '2026-01-05T09:00:00.000Z', '14:30 IST is allowed')
})

t.test('a new message: sendAt kept, pushed past quiet hours, or null to go at once', async (t) => {
  const now = at('2026-06-10T16:00:00Z')
  t.equal(sendAtForNewMessage(null, null, now), null)
  t.equal(sendAtForNewMessage(null, NEW_YORK, now), null, 'noon in New York: at once')
  t.equal(iso(sendAtForNewMessage(null, NEW_YORK, at('2026-06-11T02:00:00Z'))), '2026-06-11T12:00:00.000Z')
  t.equal(iso(sendAtForNewMessage(at('2026-06-12T02:00:00Z'), NEW_YORK, now)), '2026-06-12T12:00:00.000Z')
  t.equal(iso(sendAtForNewMessage(at('2026-06-12T15:00:00Z'), null, now)), '2026-06-12T15:00:00.000Z')
})

t.test('at release: waits for a time not come, and for quiet hours set meanwhile', async (t) => {
  const now = at('2026-06-11T02:00:00Z')
  t.same(holdAtRelease(at('2026-06-11T03:00:00Z'), null, now), { kind: 'wait', until: at('2026-06-11T03:00:00Z'), reschedule: false })
  t.same(holdAtRelease(at('2026-06-11T01:00:00Z'), null, now), { kind: 'go' })
  t.same(holdAtRelease(null, NEW_YORK, now), { kind: 'wait', until: at('2026-06-11T12:00:00Z'), reschedule: true })
})

t.test('quiet hours are checked field by field', async (t) => {
  t.equal(quietHoursProblems(NEW_YORK), null)
  t.same(Object.keys(quietHoursProblems({ start: '9pm', end: '08:00', timeZone: 'Mars/Olympus' }) ?? {}).sort(), ['quietHours.start', 'quietHours.timeZone'])
  t.ok(quietHoursProblems({ start: '08:00', end: '08:00', timeZone: 'UTC' })?.['quietHours.end'])
  t.ok(quietHoursProblems({ start: '24:00', end: '08:00', timeZone: 'EST' })?.['quietHours.timeZone'], 'abbreviations are refused')
})
