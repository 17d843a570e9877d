import type { CalendarEventInput, CalendarInput, OpportunityInput, PipelineInput } from './crm-records.ts'
import type { ContactInput, LocationInput } from './state.ts'

export interface SeedData {
  locations: LocationInput[]
  contacts: ContactInput[]
  pipelines?: PipelineInput[]
  opportunities?: OpportunityInput[]
  calendars?: CalendarInput[]
  events?: CalendarEventInput[]
}

export const SANDBOX_COMPANY_ID = 'sbxCompany0000000001'

/** Named so a person clicking through the consent page recognises them; ids are stable across restarts. */
export const DEFAULT_SEED: SeedData = {
  locations: [
    { id: 'sbxLocation000000001', name: 'Sunrise Dental', companyId: SANDBOX_COMPANY_ID, phone: '+15550100000' },
    { id: 'sbxLocation000000002', name: 'Harbor Plumbing', companyId: SANDBOX_COMPANY_ID, phone: '+15550200000' },
    { id: 'sbxAgencyLoc00000001', name: 'Northwind Agency (agency install)', companyId: 'sbxCompany0000000002', agencyInstall: true },
  ],
  contacts: [
    { id: 'sbxContact0000000001', locationId: 'sbxLocation000000001', name: 'Jane Doe', phone: '+15550100001', email: 'jane@example.com' },
    { id: 'sbxContact0000000002', locationId: 'sbxLocation000000001', name: 'John Smith', phone: '+15550100002' },
    { id: 'sbxContact0000000003', locationId: 'sbxLocation000000002', name: 'Maria Garcia', phone: '+15550200001' },
  ],  pipelines: [
    {
      id: 'sbxPipeline000000001', locationId: 'sbxLocation000000001', name: 'New patients',
      stages: [{ id: 'sbxStage000000000001', name: 'Enquiry' }, { id: 'sbxStage000000000002', name: 'Booked' }, { id: 'sbxStage000000000003', name: 'Treated' }],
    },
  ],
  opportunities: [
    { id: 'sbxOpportunity000001', locationId: 'sbxLocation000000001', name: 'Jane Doe - implant', pipelineId: 'sbxPipeline000000001', pipelineStageId: 'sbxStage000000000002', contactId: 'sbxContact0000000001', monetaryValue: 2400, createdAt: '2026-01-05T15:00:00.000Z', updatedAt: '2026-01-05T15:00:00.000Z' },
    { id: 'sbxOpportunity000002', locationId: 'sbxLocation000000001', name: 'John Smith - cleaning', pipelineId: 'sbxPipeline000000001', pipelineStageId: 'sbxStage000000000001', contactId: 'sbxContact0000000002', monetaryValue: 120, status: 'won', createdAt: '2026-01-06T15:00:00.000Z', updatedAt: '2026-01-06T15:00:00.000Z' },
  ],
  calendars: [
    { id: 'sbxCalendar000000001', locationId: 'sbxLocation000000001', name: 'Dr. Rivera' },
  ],
  events: [
    { id: 'sbxEvent000000000001', locationId: 'sbxLocation000000001', calendarId: 'sbxCalendar000000001', contactId: 'sbxContact0000000001', title: 'Implant consultation', startTime: '2026-01-12T15:00:00.000Z', endTime: '2026-01-12T15:30:00.000Z' },
    { id: 'sbxEvent000000000002', locationId: 'sbxLocation000000001', calendarId: 'sbxCalendar000000001', contactId: 'sbxContact0000000002', title: 'Cleaning', startTime: '2026-01-13T16:00:00.000Z', endTime: '2026-01-13T16:45:00.000Z' },
  ],
}
