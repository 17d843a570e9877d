/** What other workspace packages (bench) build an api from in their own process. */
export { buildApp, type App } from './app.ts'
export { createRuntime, type Runtime } from './runtime.ts'
export { ApiKeyRateLimit } from './security/api-key-rate-limit.ts'
export { OAuthStates } from './oauth/oauth-states.ts'
