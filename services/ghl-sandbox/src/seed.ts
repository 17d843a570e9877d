import type { ContactInput, LocationInput } from './state.ts'

export interface SeedData {
  locations: LocationInput[]
  contacts: ContactInput[]
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
  ],
}
