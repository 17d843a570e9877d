import t from 'tap'
import { loadApiConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { buildApp } from '../src/app.ts'
import { SETTINGS_TTL_MS } from '../src/clients/settings-cache.ts'
import { createRuntime } from '../src/runtime.ts'
import { buildTestApi, eventually } from './helper.ts'

const CLIENT = 'crm-client-cache'

t.test('two api replicas: a PUT on one is what the other reads, though each keeps the settings in memory', async (t) => {
  const api = await buildTestApi(t)
  const a = api.app
  // A second replica of the same deployment: same database, same Redis prefix, its own process state.
  const b = await buildApp(createRuntime(loadApiConfig(api.env), createLogger({ level: 'silent', name: 'api-test-b' })))
  await b.ready()
  t.teardown(() => b.close())
  const get = async (app: typeof b) => (await app.inject({ url: `/api/clients/${CLIENT}/settings`, headers: api.auth })).json() as { defaultFromNumber: string | null }
  const put = (app: typeof b, defaultFromNumber: string) =>
    app.inject({ method: 'PUT', url: `/api/clients/${CLIENT}/settings`, headers: api.auth, payload: { quietHours: null, defaultFromNumber } })

  t.equal((await put(a, '+15550100001')).statusCode, 200)
  // B subscribed and caching: what it reads is served from memory (a write behind the api's back is not seen)...
  await eventually('replica B to read the first settings', async () => (await get(b)).defaultFromNumber === '+15550100001' ? true : undefined)
  await api.db.sql`update client_settings set default_from_number = '+15550100009' where client_id = ${CLIENT}`
  t.equal((await get(b)).defaultFromNumber, '+15550100001', 'replica B serves its kept copy')

  // ...and a PUT through replica A reaches it: well inside the copy's lifetime, so only the message can have done it.
  const putAt = Date.now()
  t.equal((await put(a, '+15550100002')).statusCode, 200)
  await eventually('replica B to drop its copy', async () => (await get(b)).defaultFromNumber === '+15550100002' ? true : undefined, SETTINGS_TTL_MS / 2)
  t.ok(Date.now() - putAt < SETTINGS_TTL_MS, 'not by the copy ageing out')
  t.equal((await get(a)).defaultFromNumber, '+15550100002', 'the replica that took the PUT reads it at once')

  // The other way round: B's PUT reaches A.
  t.equal((await get(a)).defaultFromNumber, '+15550100002')
  t.equal((await put(b, '+15550100003')).statusCode, 200)
  await eventually('replica A to drop its copy', async () => (await get(a)).defaultFromNumber === '+15550100003' ? true : undefined, SETTINGS_TTL_MS / 2)
})
