/**
 * What the proxy knows of HighLevel's paths, from HighLevel's own specs (test/openapi; the test
 * proxy-paths.test.ts re-derives it and fails when this table and the specs disagree): the path
 * families the app's scopes cover, the `Version` each family wants, and where an operation wants
 * the location id, so a caller need not send it.
 */
import { GHL_VERSIONS } from './versions.ts'

/** The families the app's scopes cover; every other path is refused before HighLevel. */
export const PROXY_FAMILIES = ['contacts', 'conversations', 'opportunities', 'calendars', 'locations'] as const
export type ProxyFamily = (typeof PROXY_FAMILIES)[number]

export const FAMILY_VERSIONS: Record<ProxyFamily, string> = {
  contacts: GHL_VERSIONS.contacts,
  conversations: GHL_VERSIONS.conversations,
  opportunities: GHL_VERSIONS.opportunities,
  calendars: GHL_VERSIONS.calendars,
  locations: GHL_VERSIONS.locations,
}

/** An operation that requires the location id: as query parameter `query`, or as `locationId` in its JSON body. */
export interface LocationNeed { method: string, path: string, query?: string, body?: boolean }

/** Where the specs leave out what HighLevel documents elsewhere (each with why). */
export const LOCATION_NEED_ERRATA: Array<LocationNeed & { why: string }> = [
  { method: 'POST', path: '/contacts/search', body: true, why: 'the spec references SearchBodyV2DTO without defining it; HighLevel documents the body as { locationId, pageLimit, query }' },
]

export const LOCATION_NEEDS: LocationNeed[] = [
  { method: 'GET', path: '/contacts/search/duplicate', query: 'locationId' },
  { method: 'POST', path: '/contacts/bulk/tags/update/{type}', body: true },
  { method: 'POST', path: '/contacts/bulk/business', body: true },
  { method: 'POST', path: '/contacts/upsert', body: true },
  { method: 'GET', path: '/contacts/business/{businessId}', query: 'locationId' },
  { method: 'POST', path: '/contacts/', body: true },
  { method: 'GET', path: '/contacts/', query: 'locationId' },
  { method: 'GET', path: '/conversations/search', query: 'locationId' },
  { method: 'PUT', path: '/conversations/{conversationId}', body: true },
  { method: 'GET', path: '/conversations/preferences/custom-subtypes', query: 'locationId' },
  { method: 'POST', path: '/conversations/preferences/custom-subtypes', query: 'locationId' },
  { method: 'PUT', path: '/conversations/preferences/custom-subtypes/{id}', query: 'locationId' },
  { method: 'GET', path: '/conversations/preferences/unsubscriptions/status', query: 'locationId' },
  { method: 'POST', path: '/conversations/preferences/unsubscriptions/user-change', body: true },
  { method: 'GET', path: '/conversations/messages/export', query: 'locationId' },
  { method: 'POST', path: '/conversations/messages/review-reply', body: true },
  { method: 'POST', path: '/conversations/messages/upload/initiate', body: true },
  { method: 'POST', path: '/conversations/messages/upload/complete', body: true },
  { method: 'POST', path: '/conversations/providers/live-chat/typing', body: true },
  { method: 'POST', path: '/conversations/', body: true },
  { method: 'GET', path: '/opportunities/lost-reason', query: 'locationId' },
  { method: 'GET', path: '/opportunities/search', query: 'location_id' },
  { method: 'POST', path: '/opportunities/search', body: true },
  { method: 'GET', path: '/opportunities/pipelines', query: 'locationId' },
  { method: 'POST', path: '/opportunities/upsert', body: true },
  { method: 'POST', path: '/opportunities/', body: true },
  { method: 'GET', path: '/calendars/groups', query: 'locationId' },
  { method: 'POST', path: '/calendars/groups', body: true },
  { method: 'POST', path: '/calendars/groups/validate-slug', body: true },
  { method: 'POST', path: '/calendars/events/appointments', body: true },
  { method: 'GET', path: '/calendars/events', query: 'locationId' },
  { method: 'GET', path: '/calendars/blocked-slots', query: 'locationId' },
  { method: 'POST', path: '/calendars/events/block-slots', body: true },
  { method: 'PUT', path: '/calendars/events/block-slots/{eventId}', body: true },
  { method: 'GET', path: '/calendars/resources/{resourceType}', query: 'locationId' },
  { method: 'POST', path: '/calendars/resources/{resourceType}', body: true },
  { method: 'GET', path: '/calendars/schedules/search', query: 'locationId' },
  { method: 'POST', path: '/calendars/schedules', body: true },
  { method: 'GET', path: '/calendars/', query: 'locationId' },
  { method: 'POST', path: '/calendars/', body: true },
  ...LOCATION_NEED_ERRATA.map(({ why: _, ...need }) => need),
]

const templates = LOCATION_NEEDS.map((need) => ({
  need,
  // `{param}` is one segment; a trailing slash is optional (`/contacts/` and `/contacts` alike).
  pattern: new RegExp(`^${need.path.replace(/\/$/, '').replace(/\{[^{}]+\}/g, '[^/]+')}/?$`),
  // A literal segment beats a parameter (`/calendars/groups` is not `/calendars/{calendarId}`).
  literals: need.path.split('/').filter((s) => s && !s.startsWith('{')).length,
}))

/** The patterns above, applied to a caller's proxy path (a test checks each runs in linear time). */
export const locationNeedPatterns = (): RegExp[] => templates.map((t) => t.pattern)

/** The location need of `method path`, if the specs list one. */
export function locationNeedOf (method: string, path: string): LocationNeed | undefined {
  let best: (typeof templates)[number] | undefined
  for (const t of templates) {
    if (t.need.method === method && t.pattern.test(path) && (!best || t.literals > best.literals)) best = t
  }
  return best?.need
}

/**
 * The family of a HighLevel path the caller gave (as sent, still percent-encoded), or null when
 * the path may not go through: outside the families, or trying to leave its family with `..`,
 * `.`, an encoded slash or dot, a backslash or an empty segment.
 */
export function proxyFamilyOf (rawPath: string): ProxyFamily | null {
  if (!rawPath.startsWith('/') || /%2f|%5c|%2e|\\/i.test(rawPath)) return null
  const segments = rawPath.slice(1).split('/')
  // A trailing slash is a path HighLevel uses (`/contacts/`); any other empty segment is not.
  const inner = segments.at(-1) === '' ? segments.slice(0, -1) : segments
  if (inner.length === 0 || inner.some((s) => s === '' || s === '.' || s === '..')) return null
  const family = inner[0] as ProxyFamily
  return PROXY_FAMILIES.includes(family) ? family : null
}
