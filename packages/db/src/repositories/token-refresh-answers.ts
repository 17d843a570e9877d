/**
 * HighLevel's refresh answers, kept until the integration's version-checked write lands (see the
 * table's comment). The pair is sealed here, with the TokenCipher the integrations use, so the
 * refresh path can also keep it in Redis when PostgreSQL does not answer without ever holding
 * ciphertext it could read or plaintext outside memory.
 */
import { and, eq, lte } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { tokenRefreshAnswers } from '../schema/index.ts'
import type { TokenCipher } from '../token-cipher.ts'
import type { NewTokens } from './integrations/index.ts'

/** A refresh answer sealed for one integration and the version it replaces; opaque outside this package. */
export type SealedRefreshAnswer = string & { readonly sealedRefreshAnswer: unique symbol }

export class TokenRefreshAnswersRepository {
  constructor (private readonly db: Database, private readonly cipher: TokenCipher) {}

  seal (integrationId: string, replacesVersion: number, tokens: NewTokens): SealedRefreshAnswer {
    const plain = JSON.stringify({ ...tokens, expiresAt: tokens.expiresAt.toISOString() })
    return this.cipher.encrypt(plain, answerContext(integrationId, replacesVersion)) as SealedRefreshAnswer
  }

  /** Throws TokenDecryptionError for a value sealed for another integration or version. */
  open (integrationId: string, replacesVersion: number, sealed: string): NewTokens {
    const answer = JSON.parse(this.cipher.decrypt(sealed, answerContext(integrationId, replacesVersion))) as NewTokens & { expiresAt: string }
    return { ...answer, expiresAt: new Date(answer.expiresAt) }
  }

  async keep (integrationId: string, replacesVersion: number, sealed: SealedRefreshAnswer): Promise<void> {
    await this.db.insert(tokenRefreshAnswers).values({ integrationId, replacesVersion, sealed })
      .onConflictDoUpdate({ target: [tokenRefreshAnswers.integrationId, tokenRefreshAnswers.replacesVersion], set: { sealed, keptAt: new Date() } })
  }

  async find (integrationId: string, replacesVersion: number): Promise<NewTokens | null> {
    const [row] = await this.db.select({ sealed: tokenRefreshAnswers.sealed }).from(tokenRefreshAnswers)
      .where(and(eq(tokenRefreshAnswers.integrationId, integrationId), eq(tokenRefreshAnswers.replacesVersion, replacesVersion)))
    return row ? this.open(integrationId, replacesVersion, row.sealed) : null
  }

  /** Once the integration moved past `version`, every answer up to it is spent. */
  async removeUpTo (integrationId: string, version: number): Promise<void> {
    await this.db.delete(tokenRefreshAnswers)
      .where(and(eq(tokenRefreshAnswers.integrationId, integrationId), lte(tokenRefreshAnswers.replacesVersion, version)))
  }
}

const answerContext = (integrationId: string, replacesVersion: number) => `token_refresh_answers/${integrationId}/${replacesVersion}`
