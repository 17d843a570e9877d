import { createServer } from 'node:net'
import t from 'tap'
import { GhlClient } from '../src/index.ts'
import { failure, harness, JANE, REDIRECT_URI, SUNRISE } from './helper.ts'

t.test('a 5xx is transient and keeps its status; only the next N requests fail', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ failNext: 2, errorStatus: 503 }, SUNRISE)
  for (let i = 0; i < 2; i++) {
    const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
    t.equal(err.kind, 'transient')
    t.equal(err.status, 503)
    t.equal(err.retryable, true)
  }
  t.ok(await client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(sandbox.control.messages().length, 1, 'only the request that succeeded was sent')
})

t.test('a 5xx rate of 1 fails every request of that location and no other', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const sunrise = await connect(SUNRISE)
  const harbor = await connect('sbxLocation000000002')
  sandbox.control.setFaults({ errorRate: 1 }, SUNRISE)
  const err = await failure(() => client.locations.get({ accessToken: sunrise.access_token, locationId: SUNRISE }))
  t.equal(err.kind, 'transient')
  t.equal(err.status, 500)
  t.ok(await client.locations.get({ accessToken: harbor.access_token, locationId: 'sbxLocation000000002' }))
  sandbox.control.clearFaults(SUNRISE)
  t.ok(await client.locations.get({ accessToken: sunrise.access_token, locationId: SUNRISE }))
})

t.test('a global fault reaches the token endpoint too, without spending the refresh token', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { refresh_token: refreshToken = '' } = await connect()
  sandbox.control.setFaults({ failNext: 1, errorStatus: 502 })
  t.equal((await failure(() => client.oauth.refreshToken({ refreshToken }))).kind, 'transient')
  t.ok(await client.oauth.refreshToken({ refreshToken }), 'the refresh token survived the 502')
})

t.test('a request that hangs past the client timeout is transient (timeout)', async (t) => {
  const { clientFor, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const impatient = clientFor({ httpTimeoutMs: 200 })
  sandbox.control.setFaults({ hangNext: 1 }, SUNRISE)
  const err = await failure(() => impatient.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(err.kind, 'transient')
  t.equal(err.networkCode, 'timeout')
  t.match(err.message, /did not answer sendSms within 200 ms/)
  t.ok(await impatient.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }), 'the pool still works afterwards')
})

t.test('a call still waiting for a socket fails at its own deadline, and is never sent', async (t) => {
  const { clientFor, sandbox, connect } = await harness(t)
  const { access_token: accessToken, refresh_token: refreshToken = '' } = await connect()
  // One socket, held by a refresh that hangs (its own, longer deadline): the SMS waits behind it.
  const client = clientFor({ httpTimeoutMs: 300, connections: 1 })
  sandbox.control.setFaults({ hangNext: 1 })
  let refreshSettled = false
  const refresh = failure(() => client.oauth.refreshToken({ refreshToken, timeoutMs: 3_000 })).finally(() => { refreshSettled = true })
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(err.networkCode, 'timeout')
  t.match(err.message, /did not answer sendSms within 300 ms/)
  t.equal(refreshSettled, false, 'told at its deadline, not once the socket came free')
  t.equal((await refresh).networkCode, 'timeout')
  sandbox.control.clearFaults()
  t.ok(await client.messages.sendSms({ accessToken, contactId: JANE, message: 'after' }), 'the pool still works afterwards')
  t.same(sandbox.control.messages().map((m) => m.body), ['after'], 'the SMS that waited past its deadline was never written')
})

t.test('latency beyond the client timeout is a timeout; within it the call succeeds', async (t) => {
  const { clientFor, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ latencyMs: 300 }, SUNRISE)
  const impatient = clientFor({ httpTimeoutMs: 100 })
  t.equal((await failure(() => impatient.locations.get({ accessToken, locationId: SUNRISE }))).networkCode, 'timeout')
  const patient = clientFor({ httpTimeoutMs: 5_000 })
  t.equal((await patient.locations.get({ accessToken, locationId: SUNRISE })).data.location.id, SUNRISE)
})

t.test('nothing listening is transient with the network error code', async (t) => {
  // A port that was free a moment ago and is closed now.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
  const client = new GhlClient({
    clientId: 'c', clientSecret: 'secret-value', redirectUri: REDIRECT_URI,
    authBaseUrl: `http://127.0.0.1:${port}`, apiBaseUrl: `http://127.0.0.1:${port}`, httpTimeoutMs: 2_000,
  })
  t.teardown(() => client.close())
  const err = await failure(() => client.oauth.refreshToken({ refreshToken: 'r' }))
  t.equal(err.kind, 'transient')
  t.equal(err.networkCode, 'ECONNREFUSED')
})

t.test('errors carry HighLevel\'s message and traceId but never a token or the client secret', async (t) => {
  const { client, sandbox, connect } = await harness(t, { accessTokenTtlSeconds: 60 })
  const tokens = await connect()
  await client.oauth.refreshToken({ refreshToken: tokens.refresh_token ?? '' })
  sandbox.control.advanceClock(61_000)
  const errors = [
    await failure(() => client.oauth.refreshToken({ refreshToken: tokens.refresh_token ?? '' })),
    await failure(() => client.messages.sendSms({ accessToken: tokens.access_token, contactId: JANE, message: 'hi' })),
  ]
  for (const err of errors) {
    t.ok(err.traceId, `${err.kind} keeps the traceId`)
    const everything = `${JSON.stringify(err)} ${err.stack} ${String(err)} ${JSON.stringify(Object.entries(err))}`
    for (const secret of [tokens.access_token, tokens.refresh_token ?? '', sandbox.clientSecret]) {
      t.notOk(everything.includes(secret), `${err.kind} does not contain a secret`)
    }
  }
})

t.test('a message accepted, then the connection reset: recorded by HighLevel, and the caller cannot tell (outcome unknown)', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ acceptThenResetNext: 1 }, SUNRISE)
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'taken, answer lost' }))
  t.equal(err.kind, 'transient')
  t.equal(err.status, undefined, 'no answer at all')
  t.equal(err.outcomeUnknown, true)
  t.equal(sandbox.control.messages().filter((m) => m.body === 'taken, answer lost').length, 1, 'HighLevel took it')
})

t.test('a message accepted, then a gateway\'s 502: recorded by HighLevel, outcome unknown', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ acceptThen502Next: 1 }, SUNRISE)
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'taken, 502' }))
  t.match(err, { kind: 'transient', status: 502, outcomeUnknown: true, message: 'HighLevel answered 502 to sendSms' })
  t.equal(sandbox.control.messages().filter((m) => m.body === 'taken, 502').length, 1, 'HighLevel took it')
})

t.test('the accept-then faults are spent only by a send; a reset before handling takes nothing', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ acceptThenResetNext: 1, acceptThen502Next: 1 }, SUNRISE)
  t.ok(await client.locations.get({ accessToken, locationId: SUNRISE }), 'a read is answered')
  t.ok(await client.messages.export({ accessToken, locationId: SUNRISE }), 'so is the export')
  t.same(sandbox.control.faults().locations[SUNRISE], { acceptThenResetNext: 1, acceptThen502Next: 1 }, 'both still armed')

  sandbox.control.setFaults({ resetNext: 1 }, SUNRISE)
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'refused by a reset' }))
  t.match(err, { kind: 'transient', status: undefined, outcomeUnknown: true }, 'the caller cannot tell it from a reset after accepting')
  t.same(sandbox.control.messages().filter((m) => m.body === 'refused by a reset'), [], 'nothing taken')
})

t.test('only failures that may have taken effect are outcome-unknown: not a refused connection, not HighLevel\'s own 5xx', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ failNext: 1, errorStatus: 503 }, SUNRISE)
  t.equal((await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))).outcomeUnknown, false, '503')
  sandbox.control.setFaults({ failNext: 1, errorStatus: 504 }, SUNRISE)
  t.equal((await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))).outcomeUnknown, true, '504 from a gateway')
  const refused = new GhlClient({ clientId: 'c', clientSecret: 'secret-value', redirectUri: REDIRECT_URI, authBaseUrl: 'http://127.0.0.1:9', apiBaseUrl: 'http://127.0.0.1:9', httpTimeoutMs: 2_000 })
  t.teardown(() => refused.close())
  const err = await failure(() => refused.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.match(err, { networkCode: 'ECONNREFUSED', outcomeUnknown: false })
})
