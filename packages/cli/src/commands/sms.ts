/** `sms retry-failed`: a client's failed messages (SMS and email) sent again, each queued exactly once. */
import { ConnectionsOverviewRepository, messageChannels, SmsRetriesRepository } from '@ghl-connect/db'
import { clientIdArg, oneOf, readArgs, sinceArg } from '../args.ts'
import type { Command } from '../command.ts'
import { json } from '../output.ts'
import { queueAgain } from './requeue.ts'

const DEFAULT_SINCE = '24h'

export const smsRetryFailed: Command = {
  name: 'sms retry-failed',
  usage: 'sms retry-failed <clientId> [--since <ISO time or 90m|24h|7d>] [--channel sms|email] [--json]',
  summary: "send a client's failed SMS and email again",
  help: [
    'Both channels by default; --channel sms or --channel email takes one.',
    `Failed SMS the CRM asked for since --since (default ${DEFAULT_SINCE} ago, by when they were asked for) go back to`,
    'queued with a fresh retry budget (attempts and the retry clock reset) and are queued for the worker.',
    'Each is queued once even if two runs overlap. SMS failed as delivery_unknown are left alone:',
    'HighLevel may have sent them, so check the conversation and send them anew if needed.',
    'Fix the cause first (e.g. the client reconnects), or they fail again.',
  ],
  async run (argv, ctx, io) {
    const { values, positionals } = readArgs(this.name, argv, { since: { type: 'string' }, channel: { type: 'string' } })
    const clientId = clientIdArg(this.name, positionals)
    const since = sinceArg('since', values.since ?? DEFAULT_SINCE, ctx.now())
    const channel = values.channel === undefined ? undefined : oneOf('channel', values.channel, messageChannels)
    const core = ctx.core()
    const { requeued, skippedUnknown } = await new SmsRetriesRepository(core.database.db).requeueFailed(clientId, since, channel)
    const byChannel = { sms: requeued.filter((m) => m.channel === 'sms').length, email: requeued.filter((m) => m.channel === 'email').length }
    const sendAt = new Map(requeued.map((m) => [m.id, m.sendAt]))
    const { queued, notQueued } = await queueAgain(requeued.map((m) => m.id), core.dispatcher,
      (id) => core.dispatcher.enqueue({ id, clientId, sendAt: sendAt.get(id) ?? null }))
    if (values.json) {
      io.stdout.write(json({ clientId, since: since.toISOString(), requeued: requeued.length, byChannel, queued, notQueued, skippedUnknown, messageIds: requeued.map((m) => m.id) }))
    } else {
      const what = byChannel.email === 0 ? 'SMS' : byChannel.sms === 0 ? 'email' : `messages (${byChannel.sms} SMS, ${byChannel.email} email)`
      const lines = [`${requeued.length} failed ${what} of ${clientId} since ${since.toISOString()} queued again.`]
      if (skippedUnknown > 0) lines.push(`${skippedUnknown} left failed as delivery_unknown: HighLevel may have sent them; check the conversation before sending anew.`)
      if (notQueued > 0) lines.push(`${notQueued} of them could not be put on the queue (Redis failed); they are queued in PostgreSQL and the worker's outbox reconciler queues them.`)
      const connection = requeued.length > 0
        ? await new ConnectionsOverviewRepository(core.database.db).findClient(clientId, { expiringWithinMs: ctx.config().tokens.sweepHorizonMs })
        : null
      if (requeued.length > 0 && connection?.health !== 'active' && connection?.health !== 'expiring') {
        lines.push(`Note: ${clientId} is ${connection ? connection.health === 'disconnected' ? `disconnected (${connection.status})` : connection.health : 'not connected'}, so these will likely fail again until it connects GoHighLevel again.`)
      }
      io.stdout.write(`${lines.join('\n')}\n`)
    }
    return notQueued > 0 ? 1 : 0
  },
}
