/**
 * The fuzz as a bench scenario: 10,000 malformed requests through the api built in this process
 * (app.inject) on the bench's own PostgreSQL, Redis and sandbox. The test command runs the same
 * generator with a few hundred (services/api/test/fuzz.test.ts).
 */
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { runFuzz, summarize } from '@ghl-connect/testing/fuzz'
import { buildApp, createRuntime } from 'api'
import type { Stack } from '../harness/stack.ts'
import { say } from '../stats.ts'

export interface FuzzScenarioResult {
  fuzz_requests: number
  fuzz_5xx: number
  fuzz_unstable_errors: number
  details: { seed: number, byStatus: Record<string, number>, codes: Record<string, number>, findings: string }
}

export async function fuzzScenario (stack: Stack, opts: { runs: number, seed: number }): Promise<FuzzScenarioResult> {
  const config = loadApiConfig({ ...stack.base, LOG_LEVEL: 'silent', OAUTH_RATE_LIMIT_MAX: '1000000', PORT: '0' })
  const app = await buildApp(createRuntime(config, createLogger({ level: 'silent', name: 'fuzz' })))
  await app.ready()
  const tokens = await stack.sandbox.issueTokens('sbxLocation000000001')
  await stack.integrations.replaceActive('client-1', {
    locationId: 'sbxLocation000000001', userType: 'Location', scopes: tokens.scope.split(' '),
    accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: new Date(Date.now() + 86_399_000),
  })
  try {
    const report = await runFuzz(async (req) => {
      const res = await app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload })
      return { statusCode: res.statusCode, headers: res.headers, body: res.body }
    }, { apiKey: config.http.apiKeys[0]!.key, runs: opts.runs, seed: opts.seed })
    const findings = summarize([...report.serverErrors, ...report.unstable])
    say(`fuzz: ${report.requests} requests, ${report.serverErrors.length} 5xx, ${report.unstable.length} without a stable code; statuses ${JSON.stringify(report.byStatus)}`)
    if (findings) say(findings.split('\n').map((l) => l.slice(0, 400)).join('\n  '))
    return {
      fuzz_requests: report.requests,
      fuzz_5xx: report.serverErrors.length,
      fuzz_unstable_errors: report.unstable.length,
      details: { seed: opts.seed, byStatus: report.byStatus, codes: report.codes, findings },
    }
  } finally {
    await app.close()
  }
}
