/** The inspection and control API, /_sandbox/*: the HTTP face of SandboxControl (see README). */
import type { FastifyInstance } from 'fastify'
import type { MessageWebhookSettings, SandboxControl, SandboxSettingsPatch } from '../control.ts'
import type { ContactEmail, DeliveryError, ReportedStatus } from '../message-webhooks.ts'
import type { Faults } from '../faults.ts'
import type { RateLimitSettings } from '../rate-limiter.ts'
import type { ContactInput, DndSetting, LocationInput, UserType } from '../state.ts'
import type { WebhookRequest } from '../webhooks.ts'

type Body<T> = { Body: T }

export function controlRoutes (app: FastifyInstance, control: SandboxControl): void {
  const badRequest = (message: string) => ({ statusCode: 400, error: 'Bad Request', message })

  app.get('/_sandbox/locations', async () => ({ locations: control.locations() }))
  app.post<Body<LocationInput>>('/_sandbox/locations', async (request, reply) => {
    if (!request.body?.name) return reply.code(400).send(badRequest('name is required'))
    return reply.code(201).send(control.addLocation(request.body))
  })
  app.patch<Body<{ name?: string, active?: boolean, agencyInstall?: boolean }> & { Params: { id: string } }>('/_sandbox/locations/:id', async (request, reply) => {
    const location = control.updateLocation(request.params.id, request.body ?? {})
    return location ?? reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such location' })
  })

  app.put<Body<{ installToFutureLocations?: boolean }> & { Params: { companyId: string } }>('/_sandbox/companies/:companyId', async (request, reply) => {
    if (typeof request.body?.installToFutureLocations !== 'boolean') return reply.code(400).send(badRequest('installToFutureLocations (boolean) is required'))
    control.setInstallToFutureLocations(request.params.companyId, request.body.installToFutureLocations)
    return { companyId: request.params.companyId, installToFutureLocations: request.body.installToFutureLocations }
  })
  app.post<Body<LocationInput> & { Params: { companyId: string } }>('/_sandbox/companies/:companyId/locations', async (request, reply) => {
    if (!request.body?.name) return reply.code(400).send(badRequest('name is required'))
    return reply.code(201).send(control.addCompanyLocation(request.params.companyId, request.body))
  })

  app.get<{ Querystring: { locationId?: string } }>('/_sandbox/contacts', async (request) => ({ contacts: control.contacts(request.query.locationId) }))
  app.post<Body<ContactInput>>('/_sandbox/contacts', async (request, reply) => {
    if (!request.body?.locationId) return reply.code(400).send(badRequest('locationId is required'))
    return reply.code(201).send(control.addContact(request.body))
  })
  app.post<Body<{ dnd?: boolean, sms?: DndSetting['status'], webhookUrl?: string }> & { Params: { id: string } }>('/_sandbox/contacts/:id/dnd', async (request, reply) => {
    const { dnd, sms, webhookUrl } = request.body ?? {}
    if (dnd === undefined && sms === undefined) return reply.code(400).send(badRequest('dnd (true or false) or sms (active, inactive or permanent) is required'))
    if (dnd !== undefined && typeof dnd !== 'boolean') return reply.code(400).send(badRequest('dnd must be true or false'))
    if (sms !== undefined && !['active', 'inactive', 'permanent'].includes(sms)) return reply.code(400).send(badRequest('sms must be active, inactive or permanent'))
    if (!control.contacts().some((c) => c.id === request.params.id)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such contact' })
    try {
      return await control.setContactDnd(request.params.id, { dnd, sms }, webhookUrl)
    } catch (err) {
      return reply.code(502).send({ statusCode: 502, error: 'Bad Gateway', message: `webhook not delivered: ${(err as Error).message}` })
    }
  })

  app.get<{ Querystring: { locationId?: string } }>('/_sandbox/messages', async (request) => ({ messages: control.messages(request.query.locationId) }))
  app.get('/_sandbox/stats', async () => control.stats())
  app.get('/_sandbox/requests', async () => ({ requests: control.recorded }))

  app.get('/_sandbox/faults', async () => control.faults())
  app.put<Body<Faults & { locationId?: string }>>('/_sandbox/faults', async (request) => {
    const { locationId, ...faults } = request.body ?? {}
    control.setFaults(faults, locationId)
    return control.faults()
  })
  app.delete<{ Querystring: { locationId?: string } }>('/_sandbox/faults', async (request) => {
    control.clearFaults(request.query.locationId)
    return control.faults()
  })

  app.get('/_sandbox/rate-limit', async () => control.rateLimit())
  app.put<Body<Partial<RateLimitSettings>>>('/_sandbox/rate-limit', async (request) => {
    control.setRateLimit(request.body ?? {})
    return control.rateLimit()
  })

  app.post<Body<{ locationId?: string }>>('/_sandbox/rate-limit/exhaust-daily', async (request, reply) => {
    if (!request.body?.locationId) return reply.code(400).send(badRequest('locationId is required'))
    control.exhaustDailyLimit(request.body.locationId)
    return { ok: true }
  })

  app.put<Body<SandboxSettingsPatch>>('/_sandbox/settings', async (request) => {
    control.configure(request.body ?? {})
    return { ok: true }
  })

  app.post<Body<{ locationId: string, redirectUri: string, scopes?: string[] }>>('/_sandbox/codes', async (request, reply) => {
    try {
      return { code: control.createAuthCode(request.body) }
    } catch (err) {
      return reply.code(400).send(badRequest((err as Error).message))
    }
  })
  app.post<Body<{ locationId: string, scopes?: string[], userType?: UserType }>>('/_sandbox/tokens', async (request, reply) => {
    try {
      return control.issueTokens(request.body)
    } catch (err) {
      return reply.code(400).send(badRequest((err as Error).message))
    }
  })
  app.post<Body<{ locationId: string, refreshTokens?: boolean }>>('/_sandbox/revoke', async (request) => ({
    revoked: control.revokeTokens(request.body.locationId, { refreshTokens: request.body.refreshTokens }),
  }))

  app.post<Body<{ advanceMs?: number, freeze?: boolean }>>('/_sandbox/clock', async (request) => {
    const { advanceMs, freeze } = request.body ?? {}
    if (freeze === true) control.freezeClock()
    if (freeze === false) control.unfreezeClock()
    if (advanceMs) control.advanceClock(advanceMs)
    return { now: new Date(control.now()).toISOString() }
  })

  app.get('/_sandbox/webhook-public-key', async () => control.webhookPublicKey())
  app.post<Body<WebhookRequest>>('/_sandbox/webhooks', async (request, reply) => {
    if (!request.body?.url || !['INSTALL', 'UNINSTALL', 'ContactDndUpdate'].includes(request.body.type)) {
      return reply.code(400).send(badRequest('url and type (INSTALL, UNINSTALL or ContactDndUpdate with contactId) are required'))
    }
    try {
      return await control.sendWebhook(request.body)
    } catch (err) {
      return reply.code(502).send({ statusCode: 502, error: 'Bad Gateway', message: `webhook not delivered: ${(err as Error).message}` })
    }
  })

  app.get('/_sandbox/message-webhooks', async () => ({ ...control.messageWebhookSettings(), sent: control.messageWebhookLog() }))
  app.put<Body<MessageWebhookSettings>>('/_sandbox/message-webhooks', async (request, reply) => {
    const { failureRatio, dropRatio, delayMs } = request.body ?? {}
    if (failureRatio !== undefined && !(typeof failureRatio === 'number' && failureRatio >= 0 && failureRatio <= 1)) return reply.code(400).send(badRequest('failureRatio must be a number from 0 to 1'))
    if (dropRatio !== undefined && !(typeof dropRatio === 'number' && dropRatio >= 0 && dropRatio <= 1)) return reply.code(400).send(badRequest('dropRatio must be a number from 0 to 1'))
    if (delayMs !== undefined && !(Number.isInteger(delayMs) && delayMs >= 0)) return reply.code(400).send(badRequest('delayMs must be a whole number of milliseconds, 0 or more'))
    return control.configureMessageWebhooks(request.body ?? {})
  })
  app.post<Body<{ contactId: string, body: string, url?: string }>>('/_sandbox/replies', async (request, reply) => {
    if (!request.body?.contactId || typeof request.body.body !== 'string') return reply.code(400).send(badRequest('contactId and body are required'))
    try {
      return await control.contactReplies(request.body)
    } catch (err) {
      return reply.code(400).send(badRequest((err as Error).message))
    }
  })
  app.post<Body<ContactEmail & { contactId: string, url?: string }>>('/_sandbox/email-replies', async (request, reply) => {
    const { contactId, subject, text, html, attachments, threadId } = request.body ?? {}
    if (!contactId || typeof subject !== 'string') return reply.code(400).send(badRequest('contactId and subject are required'))
    if ([text, html, threadId].some((v) => v !== undefined && typeof v !== 'string')) return reply.code(400).send(badRequest('text, html and threadId must be strings'))
    if (attachments !== undefined && !(Array.isArray(attachments) && attachments.every((a) => typeof a === 'string'))) return reply.code(400).send(badRequest('attachments must be a list of URLs'))
    try {
      return await control.contactEmails(request.body)
    } catch (err) {
      return reply.code(400).send(badRequest((err as Error).message))
    }
  })
  app.post<Body<{ status: ReportedStatus, error?: DeliveryError, url?: string }> & { Params: { messageId: string } }>('/_sandbox/messages/:messageId/delivery', async (request, reply) => {
    const { status, error, url } = request.body ?? {}
    if (!['delivered', 'failed', 'undelivered', 'sent', 'read', 'opened', 'bounced'].includes(status)) return reply.code(400).send(badRequest('status must be delivered, failed, undelivered, sent, read, opened or bounced'))
    try {
      return await control.reportDelivery(request.params.messageId, status, { error, url })
    } catch (err) {
      return reply.code(400).send(badRequest((err as Error).message))
    }
  })

  app.post('/_sandbox/reset', async () => {
    control.reset()
    return { ok: true }
  })
}
