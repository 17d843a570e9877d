/**
 * Opportunities, pipelines, calendars and calendar events, as the specs (opportunities.json,
 * calendars.json) give them: the reads the proxy and the MCP tools make. Each goes through
 * `authorize` (Version, token, rate limit, faults, scope) like every HighLevel endpoint.
 */
import type { FastifyInstance } from 'fastify'
import { authorize, canReach, type SandboxContext } from '../context.ts'
import type { SandboxCalendarEvent, SandboxOpportunity } from '../crm-records.ts'
import { MESSAGES, sendGhlError } from '../http.ts'
import { contactView } from './api.ts'

const OPPORTUNITIES_VERSION = '2021-07-28'
const CALENDARS_VERSION = '2021-04-15'
const STATUSES = ['open', 'won', 'lost', 'abandoned', 'all']

type Query = { Querystring: Record<string, string | undefined> }

export function crmRoutes (app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx
  const records = state.crm

  const opportunityView = (o: SandboxOpportunity): Record<string, unknown> => {
    const contact = state.contacts.get(o.contactId)
    return {
      id: o.id, name: o.name, monetaryValue: o.monetaryValue, pipelineId: o.pipelineId, pipelineStageId: o.pipelineStageId,
      status: o.status, source: 'api', lastStatusChangeAt: o.updatedAt, lastStageChangeAt: o.updatedAt, createdAt: o.createdAt,
      updatedAt: o.updatedAt, contactId: o.contactId, locationId: o.locationId,
      contact: contact ? Object.fromEntries(Object.entries({ id: contact.id, name: contact.name, email: contact.email, phone: contact.phone, tags: contact.tags }).filter(([, v]) => v !== null)) : undefined,
      notes: [], tasks: [], calendarEvents: [], customFields: [], followers: [],
    }
  }

  const eventView = (e: SandboxCalendarEvent): Record<string, unknown> => ({
    id: e.id, title: e.title, calendarId: e.calendarId, locationId: e.locationId, contactId: e.contactId, groupId: '',
    appointmentStatus: e.appointmentStatus, assignedUserId: e.assignedUserId, users: [], startTime: e.startTime, endTime: e.endTime,
    dateAdded: e.startTime, dateUpdated: e.startTime,
  })

  app.get<{ Params: { contactId: string } }>('/contacts/:contactId', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: '2021-07-28', scope: 'contacts.readonly' })
    if (!grant) return reply
    const contact = state.contacts.get(request.params.contactId)
    // HighLevel answers a contact of another location like one that does not exist.
    if (!contact || !canReach(ctx, grant, contact.locationId)) return sendGhlError(reply, 400, 'Contact not found')
    state.stats.contactReads++
    return { contact: contactView(contact) }
  })

  app.get<Query>('/opportunities/search', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: OPPORTUNITIES_VERSION, scope: 'opportunities.readonly' })
    if (!grant) return reply
    const q = request.query
    const limit = q.limit === undefined ? 20 : Number(q.limit)
    const page = q.page === undefined ? 1 : Number(q.page)
    const problems = [
      ...(q.location_id ? [] : ['location_id must be a string']),
      ...(q.status === undefined || STATUSES.includes(q.status) ? [] : [`status must be one of the following values: ${STATUSES.join(', ')}`]),
      ...(Number.isInteger(limit) && limit >= 1 && limit <= 100 ? [] : ['limit must not be greater than 100']),
      ...(Number.isInteger(page) && page >= 1 ? [] : ['page must be a positive number']),
    ]
    if (problems.length > 0) return sendGhlError(reply, 422, problems)
    if (!canReach(ctx, grant, q.location_id ?? '')) return sendGhlError(reply, 403, MESSAGES.location)
    const text = (q.q ?? '').trim().toLowerCase()
    const found = [...records.opportunities.values()].filter((o) => o.locationId === q.location_id &&
      (q.pipeline_id === undefined || o.pipelineId === q.pipeline_id) &&
      (q.pipeline_stage_id === undefined || o.pipelineStageId === q.pipeline_stage_id) &&
      (q.contact_id === undefined || o.contactId === q.contact_id) &&
      (q.status === undefined || q.status === 'all' || o.status === q.status) &&
      (!text || o.name.toLowerCase().includes(text) || (state.contacts.get(o.contactId)?.name ?? '').toLowerCase().includes(text)))
    const from = (page - 1) * limit
    const more = from + limit < found.length
    return {
      opportunities: found.slice(from, from + limit).map(opportunityView),
      meta: { total: found.length, currentPage: page, ...(more ? { nextPage: page + 1 } : {}), ...(page > 1 ? { prevPage: page - 1 } : {}) },
      aggregations: {},
    }
  })

  /** A location's list (`?locationId`, required): pipelines, calendars. */
  const locationList = (path: string, guard: { version: string, scope: string }, list: (locationId: string) => Record<string, unknown>) => {
    app.get<Query>(path, async (request, reply) => {
      const grant = await authorize(ctx, request, reply, guard)
      if (!grant) return reply
      const { locationId } = request.query
      if (!locationId) return sendGhlError(reply, 422, ['locationId must be a string'])
      if (!canReach(ctx, grant, locationId)) return sendGhlError(reply, 403, MESSAGES.location)
      return list(locationId)
    })
  }

  locationList('/opportunities/pipelines', { version: OPPORTUNITIES_VERSION, scope: 'opportunities.readonly' }, (locationId) => ({
    pipelines: [...records.pipelines.values()].filter((p) => p.locationId === locationId)
      .map((p) => ({ id: p.id, name: p.name, stages: p.stages, showInFunnel: true, showInPieChart: true, locationId: p.locationId })),
  }))

  locationList('/calendars/', { version: CALENDARS_VERSION, scope: 'calendars.readonly' }, (locationId) => ({
    calendars: [...records.calendars.values()].filter((c) => c.locationId === locationId)
      .map((c) => ({ id: c.id, locationId: c.locationId, name: c.name, isActive: true, calendarType: 'event' })),
  }))

  // Events overlapping [startTime, endTime] (milliseconds, as the spec says), of one calendar, user or group.
  app.get<Query>('/calendars/events', async (request, reply) => {
    const grant = await authorize(ctx, request, reply, { version: CALENDARS_VERSION, scope: 'calendars/events.readonly' })
    if (!grant) return reply
    const q = request.query
    const start = Number(q.startTime)
    const end = Number(q.endTime)
    const problems = [
      ...(q.locationId ? [] : ['locationId must be a string']),
      ...(q.startTime !== undefined && /^\d+$/.test(q.startTime) ? [] : ['startTime must be a number of milliseconds']),
      ...(q.endTime !== undefined && /^\d+$/.test(q.endTime) ? [] : ['endTime must be a number of milliseconds']),
      ...(q.calendarId || q.userId || q.groupId ? [] : ['one of calendarId, userId or groupId is required']),
    ]
    if (problems.length > 0) return sendGhlError(reply, 422, problems)
    if (!canReach(ctx, grant, q.locationId ?? '')) return sendGhlError(reply, 403, MESSAGES.location)
    const events = [...records.events.values()].filter((e) => e.locationId === q.locationId &&
      (q.calendarId === undefined || e.calendarId === q.calendarId) &&
      (q.userId === undefined || e.assignedUserId === q.userId) &&
      // The sandbox's calendars belong to no group.
      q.groupId === undefined &&
      Date.parse(e.endTime) >= start && Date.parse(e.startTime) <= end)
      .sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime))
    return { events: events.map(eventView) }
  })
}
