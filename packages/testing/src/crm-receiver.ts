/**
 * The CRM's side of the events, for tests, the bench and the drills: a real HTTP server on a free
 * loopback port that checks each POST as a CRM would, with the typed client's verifyEvent (the
 * client ships a generated copy of @ghl-connect/crm-events, checked byte for byte by its test),
 * and answers 204, or 401 when the event does not verify. Each event is also checked with the
 * Standard Webhooks reference library (`standardwebhooks`), under the key a CRM would give it.
 * `down()` makes it answer 503 to everything, or refuse connections, until `up()`.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { verifyEvent, type CrmEvent, type EventCheck } from '@ghl-connect/crm-events'

export interface ReceivedCrmEvent {
  raw: string
  headers: IncomingHttpHeaders
  /** The body as JSON (parsed whether or not it verified, so a test can say what arrived). */
  event: CrmEvent
  /** verifyEvent's answer: the check a CRM makes with the typed client. */
  check: EventCheck
  verified: boolean
  /** The Standard Webhooks reference library verified it too. */
  standardWebhooks: boolean
  /** What the receiver answered. */
  answered: number
}

export type DownMode = 'error' | 'refuse'

export interface CrmReceiver {
  url: string
  /** What points ghl-connect at this receiver: CRM_WEBHOOK_URL and CRM_WEBHOOK_SECRET. */
  env: { CRM_WEBHOOK_URL: string, CRM_WEBHOOK_SECRET: string }
  /** Every POST that reached the handler while up, in order (verified or not). */
  received: ReceivedCrmEvent[]
  /** The accepted events of one type, each id once (delivery is at least once). */
  ofType: (type: string) => CrmEvent[]
  /** How many times the event with this id was accepted. */
  count: (id: string) => number
  /** Accepted deliveries per event id. */
  acceptedById: () => Map<string, number>
  /** POSTs that did not verify (answered 401). */
  rejected: () => number
  /** POSTs answered 503 while down in `error` mode. */
  refusedWhileDown: () => number
  /** From now on answer 503 (`error`, the default) or refuse connections (`refuse`). */
  down: (mode?: DownMode) => Promise<void>
  up: () => Promise<void>
  close: () => Promise<void>
}

const parsed = (raw: string): CrmEvent => {
  try { return JSON.parse(raw) } catch { return { id: '', type: 'unparsable', occurredAt: '', data: {} } as unknown as CrmEvent }
}

/** `secret` is CRM_WEBHOOK_SECRET as the worker has it (plain or whsec_<base64>); a random one unless given. */
export async function startCrmReceiver (secret = randomBytes(32).toString('hex')): Promise<CrmReceiver> {
  // A CRM gives a Standard Webhooks library the whsec_ secret as it is, or "whsec_" + base64 of a plain secret's UTF-8 bytes.
  const reference = new Webhook(secret.startsWith('whsec_') ? secret : `whsec_${Buffer.from(secret, 'utf8').toString('base64')}`)
  const received: ReceivedCrmEvent[] = []
  let mode: DownMode | null = null
  let refused = 0
  const server = createServer((request, response) => {
    if (mode === 'error') { refused++; request.resume(); response.writeHead(503).end(); return }
    const chunks: Buffer[] = []
    request.on('data', (d: Buffer) => { chunks.push(d) })
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const check = verifyEvent({ rawBody: raw, headers: request.headers, secret })
      let standardWebhooks = true
      try { reference.verify(raw, request.headers as Record<string, string>) } catch { standardWebhooks = false }
      const answered = check.ok ? 204 : 401
      received.push({ raw, headers: request.headers, event: check.ok ? check.event : parsed(raw), check, verified: check.ok, standardWebhooks, answered })
      response.writeHead(answered).end()
    })
  })
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const stopListening = () => new Promise<void>((resolve) => {
    server.close(() => resolve())
    // Keep-alive connections would still be served: a CRM that is down answers nothing.
    server.closeAllConnections()
  })
  await listen(0)
  const port = (server.address() as AddressInfo).port
  const accepted = () => received.filter((r) => r.answered < 300)
  const acceptedById = () => {
    const byId = new Map<string, number>()
    for (const r of accepted()) byId.set(r.event.id, (byId.get(r.event.id) ?? 0) + 1)
    return byId
  }
  const url = `http://127.0.0.1:${port}/crm-events`
  return {
    url,
    env: { CRM_WEBHOOK_URL: url, CRM_WEBHOOK_SECRET: secret },
    received,
    ofType: (type) => [...new Map(accepted().filter((r) => r.event.type === type).map((r) => [r.event.id, r.event])).values()],
    count: (id) => acceptedById().get(id) ?? 0,
    acceptedById,
    rejected: () => received.filter((r) => !r.verified).length,
    refusedWhileDown: () => refused,
    down: async (how = 'error') => {
      if (mode !== null) throw new Error('the CRM receiver is already down')
      mode = how
      if (how === 'refuse') await stopListening()
    },
    up: async () => {
      if (mode === 'refuse') await listen(port)
      mode = null
    },
    close: async () => { if (mode !== 'refuse') await stopListening() },
  }
}
