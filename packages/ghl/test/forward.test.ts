/**
 * The proxy's call (GhlClient.forward) against the sandbox's opportunities, pipelines, calendars
 * and events, each exchange checked against HighLevel's specs; and the rate-limit headers every
 * answer reports, the daily budget's included.
 */
import t from 'tap'
import { ContractChecker } from './contract.ts'
import { APP_SCOPES, harness, JANE, SUNRISE } from './helper.ts'
import type { RateLimit } from '../src/index.ts'

const checker = new ContractChecker()
const SCOPES = [...APP_SCOPES, 'opportunities.readonly', 'calendars.readonly', 'calendars/events.readonly']

t.test('opportunities, pipelines, calendars and calendar events answer the seeded data in the specs\' shapes', async (t) => {
  const { client, sandbox, connect } = await harness(t, { record: true })
  const { access_token: accessToken } = await connect(SUNRISE, SCOPES)
  const get = async (path: string, query: Record<string, string>, version: string) => {
    const answer = await client.forward({ method: 'GET', path, query: new URLSearchParams(query), headers: { accept: 'application/json' }, version, accessToken, locationId: SUNRISE })
    t.equal(answer.status, 200, `${path} answers 200`)
    return JSON.parse(answer.body.toString('utf8'))
  }
  const search = await get('/opportunities/search', { location_id: SUNRISE, q: 'implant' }, '2021-07-28')
  t.same(search.opportunities.map((o: { name: string }) => o.name), ['Jane Doe - implant'])
  t.equal(search.opportunities[0].contact.id, JANE)
  t.equal(search.meta.total, 1)
  const won = await get('/opportunities/search', { location_id: SUNRISE, status: 'won' }, '2021-07-28')
  t.same(won.opportunities.map((o: { name: string }) => o.name), ['John Smith - cleaning'])
  const { pipelines } = await get('/opportunities/pipelines', { locationId: SUNRISE }, '2021-07-28')
  t.same(pipelines.map((p: { name: string, stages: Array<{ name: string }> }) => [p.name, p.stages.map((s) => s.name)]), [['New patients', ['Enquiry', 'Booked', 'Treated']]])
  const { contact } = await get(`/contacts/${JANE}`, {}, '2021-07-28')
  t.equal(contact.name, 'Jane Doe')
  const { calendars } = await get('/calendars/', { locationId: SUNRISE }, '2021-04-15')
  t.same(calendars.map((c: { name: string }) => c.name), ['Dr. Rivera'])
  const { events } = await get('/calendars/events', {
    locationId: SUNRISE, calendarId: calendars[0].id, startTime: String(Date.parse('2026-01-12T00:00:00Z')), endTime: String(Date.parse('2026-01-12T23:59:59Z')),
  }, '2021-04-15')
  t.same(events.map((e: { title: string }) => e.title), ['Implant consultation'])

  const refused = await client.forward({ method: 'GET', path: '/calendars/events', query: new URLSearchParams({ locationId: SUNRISE }), headers: {}, version: '2021-04-15', accessToken, locationId: SUNRISE })
  t.equal(refused.status, 422, 'a search without its required parameters is refused as HighLevel does')
  t.equal(refused.headers['content-type'], 'application/json; charset=utf-8')

  const operations = new Set(sandbox.control.recorded.map((e) => checker.operationOf(e)))
  t.same([...operations].sort(), ['get-access-token', 'get-calendars', 'get-calendar-events', 'get-contact', 'get-pipelines', 'search-opportunity'].sort())
  for (const exchange of sandbox.control.recorded) {
    const expected = exchange.response.status === 422
      ? ['get-calendar-events request: query parameter startTime is required and missing', 'get-calendar-events request: query parameter endTime is required and missing']
      : []
    t.same(checker.check(exchange), expected, `${exchange.method} ${exchange.url.split('?')[0]} -> ${exchange.response.status}`)
  }
})

t.test('every answer for a location reports its rate-limit headers; a spent daily budget answers 429 with the time to the reset', async (t) => {
  const seen: Array<{ locationId: string, rateLimit: RateLimit | null }> = []
  const { clientFor, sandbox, connect } = await harness(t, { rateLimit: { daily: 3 } })
  const client = clientFor({ onRateLimit: (locationId, rateLimit) => { seen.push({ locationId, rateLimit }) } })
  const { access_token: accessToken } = await connect(SUNRISE, SCOPES)
  await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'jane' })
  t.equal(seen[0]?.locationId, SUNRISE)
  t.match(seen[0]?.rateLimit, { max: 100, dailyLimit: 3, dailyRemaining: 2 })
  sandbox.control.freezeClock()
  sandbox.control.exhaustDailyLimit(SUNRISE)
  const now = new Date(sandbox.control.now())
  const answer = await client.forward({ method: 'GET', path: '/opportunities/pipelines', query: new URLSearchParams({ locationId: SUNRISE }), headers: {}, version: '2021-07-28', accessToken, locationId: SUNRISE })
  t.equal(answer.status, 429)
  t.equal(answer.headers['x-ratelimit-daily-remaining'], '0')
  const nextDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
  t.equal(answer.headers['retry-after'], String(Math.ceil((nextDay - now.getTime()) / 1000)), 'Retry-After runs to the next UTC day')
  t.match(seen.at(-1), { locationId: SUNRISE, rateLimit: { dailyRemaining: 0 } })
})
