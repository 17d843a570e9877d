/**
 * Group commit: callers that arrive while a write is on its way share the next one, so N
 * concurrent callers cost one round trip (one transaction, one commit) instead of N. Used by the
 * api's intake (its INSERT) and the worker's send path (its first read, its `sending` and `sent`
 * writes: each statement of a job, shared with the jobs beside it).
 *
 * No caller waits for a timer: a lone caller is written at once (its group is itself); only
 * callers arriving while `maxInFlight` writes are running wait, at most one write's time, then go
 * together (up to `maxGroup`). Each caller is answered with its own item's result, and only once
 * the group's write returned (for a database write: committed). A write that throws rejects
 * every caller of its group with its error: none is answered as written.
 */
export interface GroupCommitOptions {
  /** The most items one write takes. */
  maxGroup: number
  /** Writes running at once (each on its own pool connection); more callers wait to share the next. */
  maxInFlight: number
}

/** Writes a group; answers one result per item, in the items' order. */
export type GroupWrite<I, O> = (items: I[]) => Promise<O[]>

interface Waiting<I, O> { item: I, resolve: (result: O) => void, reject: (err: unknown) => void }

export class GroupCommit<I, O> {
  private waiting: Array<Waiting<I, O>> = []
  private inFlight = 0
  private scheduled = false

  constructor (private readonly writeGroup: GroupWrite<I, O>, private readonly opts: GroupCommitOptions = { maxGroup: 100, maxInFlight: 2 }) {}

  /** Written with whatever arrives beside it; resolves with this item's result once the group's write returned. */
  write (item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject })
      this.schedule()
    })
  }

  /** After this turn of the event loop, so callers of the same turn go together. */
  private schedule (): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.waiting.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      while (this.inFlight < this.opts.maxInFlight && this.waiting.length > 0) {
        void this.flush(this.waiting.splice(0, this.opts.maxGroup))
      }
    })
  }

  private async flush (group: Array<Waiting<I, O>>): Promise<void> {
    this.inFlight++
    try {
      let results: O[]
      try {
        results = await this.writeGroup(group.map((w) => w.item))
        if (results.length !== group.length) throw new Error(`group commit: ${results.length} results for ${group.length} items`)
      } catch (err) {
        for (const w of group) w.reject(err)
        return
      }
      group.forEach((w, i) => w.resolve(results[i]!))
    } finally {
      this.inFlight--
      this.schedule()
    }
  }
}
