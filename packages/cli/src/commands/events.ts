/** `events replay`: events the CRM already received, delivered again under the same ids. */
import { CrmEventReplaysRepository, crmEventTypes } from '@ghl-connect/db'
import { AppError, badRequest } from '@ghl-connect/errors'
import { CrmEventDispatcher } from '@ghl-connect/queues'
import { noPositionals, oneOf, readArgs, sinceArg } from '../args.ts'
import type { Command } from '../command.ts'
import { json } from '../output.ts'
import { queueAgain } from './requeue.ts'

export const eventsReplay: Command = {
  name: 'events replay',
  usage: `events replay --since <ISO time or 90m|24h|7d> [--type ${crmEventTypes.join('|')}] [--json]`,
  summary: 'deliver again the CRM events delivered since a time',
  help: [
    'Events delivered at or after --since (e.g. since the CRM lost its data) go back to pending and are',
    'queued for delivery again, with their ids unchanged: the CRM drops any it still has.',
    'Needs CRM_WEBHOOK_URL, as the worker has it.',
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, { since: { type: 'string' }, type: { type: 'string' } })
    noPositionals(this.name, positionals)
    if (values.since === undefined) throw badRequest('missing_since', 'events replay needs --since: a time (2026-11-29T08:00:00Z) or a duration back from now (24h).')
    const since = sinceArg('since', values.since, ctx.now())
    const type = values.type === undefined ? undefined : oneOf('type', values.type, crmEventTypes)
    if (!ctx.config().crmEvents) {
      throw new AppError(409, 'crm_events_off', 'CRM_WEBHOOK_URL is not set, so there is no CRM to deliver events to: run this with the environment the worker has.')
    }
    const core = ctx.core()
    const ids = await new CrmEventReplaysRepository(core.database.db).reopenDelivered(since, type)
    const dispatcher = new CrmEventDispatcher(core.queues.crmEvents)
    const { queued, notQueued } = await queueAgain(ids, dispatcher, (id) => dispatcher.enqueue(id))
    if (values.json) {
      io.stdout.write(json({ since: since.toISOString(), type: type ?? null, replayed: ids.length, queued, notQueued, eventIds: ids }))
    } else {
      const lines = [`${ids.length} ${type ?? ''}${type ? ' ' : ''}events delivered since ${since.toISOString()} queued for delivery again (same ids).`]
      if (notQueued > 0) lines.push(`${notQueued} of them could not be put on the queue (Redis failed); they are pending in PostgreSQL and the worker's events reconciler queues them.`)
      io.stdout.write(`${lines.join('\n')}\n`)
    }
    return notQueued > 0 ? 1 : 0
  },
}
