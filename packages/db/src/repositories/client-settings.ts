import { eq } from 'drizzle-orm'
import type { Database } from '../database.ts'
import type { QuietHours } from '../domain/quiet-hours.ts'
import { clientSettings, type ClientSettingsRow } from '../schema/index.ts'

/** A client's SMS settings; both null (the defaults) for a client that never set any. */
export interface ClientSettings {
  quietHours: QuietHours | null
  defaultFromNumber: string | null
}

export const NO_CLIENT_SETTINGS: ClientSettings = { quietHours: null, defaultFromNumber: null }

const settingsOf = (row: ClientSettingsRow | undefined): ClientSettings => !row
  ? NO_CLIENT_SETTINGS
  : {
      quietHours: row.quietHoursStart !== null && row.quietHoursEnd !== null && row.quietHoursTimeZone !== null
        ? { start: row.quietHoursStart, end: row.quietHoursEnd, timeZone: row.quietHoursTimeZone }
        : null,
      defaultFromNumber: row.defaultFromNumber,
    }

export class ClientSettingsRepository {
  constructor (private readonly db: Database) {}

  async find (clientId: string): Promise<ClientSettings> {
    const [row] = await this.db.select().from(clientSettings).where(eq(clientSettings.clientId, clientId)).limit(1)
    return settingsOf(row)
  }

  /** Replaces the client's settings as a whole. */
  async put (clientId: string, settings: ClientSettings): Promise<ClientSettings> {
    const values = {
      quietHoursStart: settings.quietHours?.start ?? null,
      quietHoursEnd: settings.quietHours?.end ?? null,
      quietHoursTimeZone: settings.quietHours?.timeZone ?? null,
      defaultFromNumber: settings.defaultFromNumber,
      updatedAt: new Date(),
    }
    const [row] = await this.db.insert(clientSettings).values({ clientId, ...values })
      .onConflictDoUpdate({ target: clientSettings.clientId, set: values }).returning()
    return settingsOf(row)
  }
}
