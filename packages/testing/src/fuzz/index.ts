/**
 * The route fuzz (`@ghl-connect/testing/fuzz`): malformed requests and the checks on each answer,
 * sent through a transport the caller gives (app.inject in the api test and the bench). A subpath
 * of its own so tests that do not fuzz never load fast-check.
 */
export { runFuzz, summarize, checkAnswer, type FuzzAnswer, type FuzzFinding, type FuzzReport, type Transport } from './run-fuzz.ts'
export { fuzzRequests, type FuzzRequest, type Kind } from './requests.ts'
