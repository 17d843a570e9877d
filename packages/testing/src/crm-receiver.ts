/**
 * The CRM's side of the events: a real HTTP server on a free loopback port that keeps every
 * event it is POSTed (raw body, parsed, and whether its signature verifies) and answers 200.
 */
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'

export interface ReceivedCrmEvent {
  raw: string
  event: { id: string, type: string, occurredAt: string, data: Record<string, unknown> }
  signed: boolean
}

export interface CrmReceiver {
  url: string
  received: ReceivedCrmEvent[]
  /** The events of one type, each id once (delivery is at least once). */
  ofType: (type: string) => Array<ReceivedCrmEvent['event']>
  close: () => Promise<void>
}

export async function startCrmReceiver (secret: string): Promise<CrmReceiver> {
  const received: ReceivedCrmEvent[] = []
  const server = createServer((request, response) => {
    let raw = ''
    request.on('data', (d) => { raw += d })
    request.on('end', () => {
      const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`
      received.push({ raw, event: JSON.parse(raw), signed: request.headers['x-ghl-connect-signature'] === expected })
      response.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const ofType = (type: string) => [...new Map(received.filter((r) => r.event.type === type).map((r) => [r.event.id, r.event])).values()]
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/crm-events`,
    received,
    ofType,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
