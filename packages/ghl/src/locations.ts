/** HighLevel's locations (sub-accounts), as the connect flow reads them: its name. */
import { requireField, type Authorized, type GhlTransport } from './transport.ts'
import type { GhlAnswer, GhlLocation } from './types.ts'
import { GHL_VERSIONS } from './versions.ts'

export class LocationsClient {
  constructor (private readonly transport: GhlTransport) {}

  async get ({ accessToken, locationId }: Authorized & { locationId: string }): Promise<GhlAnswer<{ location: GhlLocation }>> {
    const answer = await this.transport.call<{ location: GhlLocation }>({
      operation: 'getLocation', method: 'GET', path: `/locations/${encodeURIComponent(locationId)}`,
      version: GHL_VERSIONS.locations, accessToken, locationId,
    })
    requireField(answer, 'location', 'getLocation')
    return answer
  }
}
