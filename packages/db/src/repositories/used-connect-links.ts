import { eq, lt } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { usedConnectLinks } from '../schema/index.ts'

/** How long past its expiry a used link's row is kept: an expired link is refused anyway, the margin covers clock skew. */
const KEEP_AFTER_EXPIRY_MS = 60 * 60_000

export interface ConnectLinkUse {
  /** A hash of the link's signature: the link itself is a credential and is never stored. */
  linkHash: string
  clientId: string
  expiresAt: Date
}

/** Single-use connect links: once a link has connected a client it is refused. */
export class UsedConnectLinksRepository {
  constructor (private readonly db: Database) {}

  async isUsed (linkHash: string): Promise<boolean> {
    const [row] = await this.db.select({ linkHash: usedConnectLinks.linkHash }).from(usedConnectLinks)
      .where(eq(usedConnectLinks.linkHash, linkHash)).limit(1)
    return row !== undefined
  }

  /**
   * Marks the link used; false when it already was. The primary key makes this the atomic
   * check-and-mark: of two concurrent uses of one link exactly one gets true. Connections are
   * rare, so rows of long-expired links are dropped here rather than by a job of their own.
   */
  async markUsed (use: ConnectLinkUse): Promise<boolean> {
    await this.db.delete(usedConnectLinks).where(lt(usedConnectLinks.expiresAt, new Date(Date.now() - KEEP_AFTER_EXPIRY_MS)))
    const inserted = await this.db.insert(usedConnectLinks).values(use).onConflictDoNothing()
      .returning({ linkHash: usedConnectLinks.linkHash })
    return inserted.length === 1
  }

  /** Gives a link back when its connection failed (declined, wrong sub-account...), so the person can try again with it. */
  async release (linkHash: string): Promise<void> {
    await this.db.delete(usedConnectLinks).where(eq(usedConnectLinks.linkHash, linkHash))
  }
}
