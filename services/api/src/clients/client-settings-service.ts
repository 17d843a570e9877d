/** A client's SMS settings: quiet hours and the default sender number, checked before they are stored. */
import type { ClientSettings, ClientSettingsRepository } from '@ghl-connect/db'
import { quietHoursProblems } from '@ghl-connect/db'
import { badRequest } from '@ghl-connect/errors'
import { E164 } from '../sms/e164.ts'

export class ClientSettingsService {
  constructor (private readonly settings: Pick<ClientSettingsRepository, 'find' | 'put'>) {}

  get (clientId: string): Promise<ClientSettings> {
    return this.settings.find(clientId)
  }

  /** Replaces both settings; each problem is named by its field. */
  async put (clientId: string, wanted: ClientSettings): Promise<ClientSettings> {
    const fields: Record<string, string> = { ...(wanted.quietHours ? quietHoursProblems(wanted.quietHours) : null) }
    if (wanted.defaultFromNumber !== null && !E164.test(wanted.defaultFromNumber)) {
      fields.defaultFromNumber = 'defaultFromNumber must be one of the sub-account\'s numbers in E.164 format (e.g. +15550100000), or null for the sub-account\'s own.'
    }
    const problems = Object.values(fields)
    if (problems.length > 0) throw badRequest('invalid_settings', problems.join(' '), { fields })
    return this.settings.put(clientId, wanted)
  }
}
