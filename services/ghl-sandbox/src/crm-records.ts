/**
 * The sandbox's opportunities, pipelines, calendars and calendar events: seeded data the proxy
 * and the MCP tools read, in the shapes HighLevel's specs (opportunities.json, calendars.json) give.
 */
import { ghlId } from './ids.ts'

export interface SandboxPipeline {
  id: string
  locationId: string
  name: string
  stages: Array<{ id: string, name: string, position: number }>
}

export interface SandboxOpportunity {
  id: string
  locationId: string
  name: string
  pipelineId: string
  pipelineStageId: string
  contactId: string
  status: 'open' | 'won' | 'lost' | 'abandoned'
  monetaryValue: number
  createdAt: string
  updatedAt: string
}

export interface SandboxCalendar { id: string, locationId: string, name: string }

export interface SandboxCalendarEvent {
  id: string
  locationId: string
  calendarId: string
  contactId: string
  title: string
  appointmentStatus: 'new' | 'confirmed' | 'cancelled' | 'showed' | 'noshow' | 'invalid'
  assignedUserId: string
  startTime: string
  endTime: string
}

export type PipelineInput = Omit<SandboxPipeline, 'id' | 'stages'> & { id?: string, stages: Array<{ id?: string, name: string }> }
export type OpportunityInput = Partial<Omit<SandboxOpportunity, 'locationId' | 'name' | 'pipelineId' | 'contactId'>> & Pick<SandboxOpportunity, 'locationId' | 'name' | 'pipelineId' | 'contactId'>
export type CalendarInput = Omit<SandboxCalendar, 'id'> & { id?: string }
export type CalendarEventInput = Partial<Pick<SandboxCalendarEvent, 'id' | 'appointmentStatus' | 'assignedUserId'>> & Omit<SandboxCalendarEvent, 'id' | 'appointmentStatus' | 'assignedUserId'>

export interface CrmSnapshot {
  pipelines: SandboxPipeline[]
  opportunities: SandboxOpportunity[]
  calendars: SandboxCalendar[]
  events: SandboxCalendarEvent[]
}

export const SANDBOX_USER_ID = 'sbxUser0000000000001'

export class CrmRecords {
  readonly pipelines = new Map<string, SandboxPipeline>()
  readonly opportunities = new Map<string, SandboxOpportunity>()
  readonly calendars = new Map<string, SandboxCalendar>()
  readonly events = new Map<string, SandboxCalendarEvent>()

  constructor (private readonly now: () => number) {}

  addPipeline (input: PipelineInput): SandboxPipeline {
    const pipeline = { ...input, id: input.id ?? ghlId(), stages: input.stages.map((s, position) => ({ id: s.id ?? ghlId(), name: s.name, position })) }
    this.pipelines.set(pipeline.id, pipeline)
    return pipeline
  }

  addOpportunity (input: OpportunityInput): SandboxOpportunity {
    const at = new Date(this.now()).toISOString()
    const stage = input.pipelineStageId ?? this.pipelines.get(input.pipelineId)?.stages[0]?.id ?? ''
    const opportunity: SandboxOpportunity = {
      status: 'open', monetaryValue: 0, createdAt: at, updatedAt: at, ...input, id: input.id ?? ghlId(), pipelineStageId: stage,
    }
    this.opportunities.set(opportunity.id, opportunity)
    return opportunity
  }

  addCalendar (input: CalendarInput): SandboxCalendar {
    const calendar = { ...input, id: input.id ?? ghlId() }
    this.calendars.set(calendar.id, calendar)
    return calendar
  }

  addEvent (input: CalendarEventInput): SandboxCalendarEvent {
    const event: SandboxCalendarEvent = { appointmentStatus: 'confirmed', assignedUserId: SANDBOX_USER_ID, ...input, id: input.id ?? ghlId() }
    this.events.set(event.id, event)
    return event
  }

  clear (): void {
    this.pipelines.clear()
    this.opportunities.clear()
    this.calendars.clear()
    this.events.clear()
  }

  snapshot (): CrmSnapshot {
    return { pipelines: [...this.pipelines.values()], opportunities: [...this.opportunities.values()], calendars: [...this.calendars.values()], events: [...this.events.values()] }
  }

  restore (s: CrmSnapshot): void {
    this.clear()
    for (const p of s.pipelines) this.pipelines.set(p.id, p)
    for (const o of s.opportunities) this.opportunities.set(o.id, o)
    for (const c of s.calendars) this.calendars.set(c.id, c)
    for (const e of s.events) this.events.set(e.id, e)
  }
}
