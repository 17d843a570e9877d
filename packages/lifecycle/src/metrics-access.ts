/**
 * Who may scrape /metrics, the same for the api and the worker's health server: anyone when no
 * METRICS_TOKEN is set (the port is internal), otherwise only `Authorization: Bearer <token>`,
 * compared in constant time. Answers the refusal to send, or null to serve the metrics.
 */
import { AppError } from '@ghl-connect/errors'
import { sameDigest, secretDigest } from '@ghl-connect/secrets'

export function metricsAccess (token: string | null): (authorization: string | undefined) => AppError | null {
  if (token === null) return () => null
  const expected = secretDigest(token)
  return (authorization) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
    if (presented !== undefined && sameDigest(secretDigest(presented), expected)) return null
    return new AppError(401, 'metrics_token_required', 'Scraping /metrics needs "Authorization: Bearer <METRICS_TOKEN>".')
  }
}
