import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { eventually } from '@ghl-connect/testing'
import { createGhlConnectClient } from '../src/index.ts'
import { connectInBrowser, startApi, SUNRISE, type RunningApi } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * A TCP hop in front of the api that can lose one answer: the request goes through and is done,
 * then the connection is cut before its answer comes back, as a network failure does it.
 */
async function lossyHop (t: Test, target: URL) {
  let loseNext = false
  let connections = 0
  const open = new Set<Socket>()
  const server = createServer((downstream) => {
    connections++
    const upstream = connect(Number(target.port), target.hostname)
    for (const socket of [downstream, upstream]) open.add(socket.once('close', () => open.delete(socket)))
    downstream.pipe(upstream)
    if (loseNext) {
      loseNext = false
      upstream.once('data', () => { downstream.destroy(); upstream.destroy() })
    } else {
      upstream.pipe(downstream)
    }
    downstream.on('error', () => upstream.destroy()).on('close', () => upstream.destroy())
    upstream.on('error', () => downstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    for (const socket of open) socket.destroy() // the client's keep-alive connection would hold close() for a minute
  }))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    loseNextAnswer: () => { loseNext = true },
    connections: () => connections,
  }
}

function startWorker (t: Test, api: RunningApi): void {
  const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env }, stdio: 'ignore' })
  const exited = new Promise((resolve) => worker.once('exit', resolve))
  t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })
}

t.test('sendSms whose answer the network lost is retried by the client with the same key: the SMS reaches HighLevel once', async (t) => {
  const api = await startApi(t)
  const direct = createGhlConnectClient({ baseUrl: api.url, apiKey: api.apiKey })
  await connectInBrowser(api, (await direct.createConnectLink({ clientId: 'client-5' })).url, SUNRISE)
  const hop = await lossyHop(t, new URL(api.url))
  const client = createGhlConnectClient({ baseUrl: hop.url, apiKey: api.apiKey })

  hop.loseNextAnswer()
  const sms = await client.sendSms({ clientId: 'client-5', to: { phone: '+15550100001' }, message: 'Your appointment is tomorrow at 9.' })
  t.equal(hop.connections(), 2, 'the first answer was lost and the client tried again by itself')

  startWorker(t, api)
  await eventually('the SMS is sent', async () => (await client.getSms(sms.id)).status === 'sent')
  t.equal(api.sandbox.control.messages(SUNRISE).length, 1, 'HighLevel was asked once')
})

t.test('the client gives up after its retries, and maxRetries 0 turns them off', async (t) => {
  const api = await startApi(t)
  const hop = await lossyHop(t, new URL(api.url))
  const once = createGhlConnectClient({ baseUrl: hop.url, apiKey: api.apiKey, maxRetries: 0 })
  hop.loseNextAnswer()
  const err = await once.getStatus('client-6').then(() => null, (e: unknown) => e)
  t.match(err, { status: 0, error: 'unreachable' })
  t.equal(hop.connections(), 1)
  t.same(await once.getStatus('client-6'), { connected: false, integration: null })
})
