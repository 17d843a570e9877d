import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildSandbox } from '../src/index.ts'
import { form, listening, REDIRECT_URI, SUNRISE } from './helper.ts'

const client = { client_id: 'app-client', client_secret: 'app-secret-value' }
const api = (token: string) => ({ headers: { version: '2021-07-28', authorization: `Bearer ${token}` } })

t.test('with a state file, grants and contacts outlive a restart: the refresh token and the access token still work', async (t) => {
  const stateFile = join(t.testdir(), 'nested', 'sandbox-state.json')
  const first = await listening(t, { stateFile })
  const code = first.control.createAuthCode({ locationId: SUNRISE, redirectUri: REDIRECT_URI })
  const tokens = await (await fetch(`${first.url}/oauth/token`, form({ ...client, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }))).json() as { access_token: string, refresh_token: string }
  const contact = first.control.addContact({ locationId: SUNRISE, name: 'Kept Contact', phone: '+15550100077' })
  await first.app.close()

  const second = await listening(t, { stateFile })
  t.equal((await fetch(`${second.url}/locations/${SUNRISE}`, api(tokens.access_token))).status, 200, 'the access token is still good')
  t.equal(second.control.contacts(SUNRISE).find((c) => c.id === contact.id)?.name, 'Kept Contact')
  const refreshed = await fetch(`${second.url}/oauth/token`, form({ ...client, grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
  t.equal(refreshed.status, 200, 'the refresh token is still good')
  t.equal(second.control.stats().codeExchanges, 1, 'the counts are kept too')
  await second.app.close()

  const third = await listening(t, { stateFile })
  const spent = await fetch(`${third.url}/oauth/token`, form({ ...client, grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
  t.equal(spent.status, 400, 'a refresh token spent before a restart stays spent')
})

t.test('a change is written shortly after the request that made it, before any close', async (t) => {
  const stateFile = join(t.testdir(), 'sandbox-state.json')
  const { url, control } = await listening(t, { stateFile })
  const code = control.createAuthCode({ locationId: SUNRISE, redirectUri: REDIRECT_URI })
  const { refresh_token: refreshToken } = await (await fetch(`${url}/oauth/token`, form({ ...client, grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }))).json() as { refresh_token: string }
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(stateFile, 'utf8').includes(refreshToken)) break
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.ok(readFileSync(stateFile, 'utf8').includes(refreshToken))
})

t.test('an unreadable state file stops the start with a sentence saying what to do', async (t) => {
  const stateFile = join(t.testdir(), 'sandbox-state.json')
  writeFileSync(stateFile, '{"version":1,')
  t.throws(() => buildSandbox({ clientId: 'c', clientSecret: 'secret-value', stateFile }), /cannot be read .*delete it to start from the seed/)
})
