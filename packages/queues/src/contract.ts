/**
 * The typed contract between producers (api, worker) and consumers (worker): queue names, job
 * names, payloads, job ids and what a job's state means to a reconciler.
 */
import type { Job, Queue } from 'bullmq'
import { encodeId } from '@ghl-connect/redis-keys'

export const QUEUES = {
  sms: 'sms',
  tokens: 'tokens',
  outbox: 'outbox',
  crmEvents: 'crm-events',
} as const
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES]

export interface SmsSendJob {
  messageId: string
  /** The api request that took the SMS in, so the worker's lines can be followed back to it; absent when the outbox reconciler re-queues. */
  requestId?: string
}
/** One client, as the sweep queued refreshes before it batched them; still taken from a queue written by that version. */
export interface TokenRefreshJob { clientId: string }
/** The sweep's refreshes of several clients expiring close together: one job instead of one per client. */
export interface TokenRefreshBatchJob { clientIds: string[] }
/** The sweep's renewal of agency connections unused for AGENCY_REFRESH_DAYS (by integration id: they have no client). */
export interface AgencyRefreshJob { integrationIds: string[] }
export type TokenSweepJob = Record<string, never>
export type OutboxReconcileJob = Record<string, never>

/**
 * A delivery of one event of the events outbox (PostgreSQL): only its id travels through Redis.
 * The worker loads the event by id and delivers what is stored, so a job added by anything else
 * (Bull Board's "add job", a script with the Redis address) delivers nothing our code did not write.
 */
export interface CrmEventJob { eventId: string }
export type RetentionJob = Record<string, never>
/** Gap filling: HighLevel's message export read for replies and delivery statuses no webhook brought. */
export type GapFillJob = Record<string, never>

export interface JobsByQueue {
  sms: { send: SmsSendJob }
  tokens: { refresh: TokenRefreshJob, 'refresh-batch': TokenRefreshBatchJob, 'refresh-agencies': AgencyRefreshJob, sweep: TokenSweepJob }
  outbox: { reconcile: OutboxReconcileJob, 'reconcile-events': OutboxReconcileJob, retention: RetentionJob, 'gap-fill': GapFillJob }
  'crm-events': { deliver: CrmEventJob }
}

export type JobName<Q extends QueueName> = Extract<keyof JobsByQueue[Q], string>
export type JobData<Q extends QueueName> = JobsByQueue[Q][JobName<Q>]

/** A job as the consumer of queue Q receives it: one member per job name, so narrowing on `job.name` gives its payload. */
export type JobOf<Q extends QueueName> = { [N in JobName<Q>]: Job<JobsByQueue[Q][N], unknown, N> }[JobName<Q>]

/** BullMQ 6 refuses ':' in job ids, and client ids are the CRM's opaque text: encode them. */
export const jobIds = {
  smsSend: (messageId: string) => `sms-${messageId}`,
  tokenRefresh: (clientId: string) => `refresh-${encodeId(clientId)}`,
  crmEvent: (eventId: string) => `event-${eventId}`,
}

export type TypedQueue<Q extends QueueName> = Queue<JobData<Q>, unknown, JobName<Q>>

/** What BullMQ holds for a job, as a reconciler needs to know it: `pending` covers waiting, delayed and active. */
export type JobState = 'missing' | 'pending' | 'failed' | 'completed'

export async function jobStateOf (queue: Queue, jobId: string): Promise<JobState> {
  const state = await queue.getJobState(jobId)
  if (state === 'unknown') return 'missing'
  if (state === 'failed' || state === 'completed') return state
  return 'pending'
}
