#!/usr/bin/env node
// The client side of scripts/docker/e2e.sh, from the host through the containers' published
// ports: what a CRM and a user's browser do (the consent answered by the sandbox's auto-approve,
// as in services/api/test/connect-flow.ts), with the sandbox's control API to see the results.
// Use: node drive.mjs connect | sms <count> <tag>
// Env: API (http://localhost:<port>), SANDBOX (http://localhost:<port>), API_KEY.
// Prints one line of what it saw; exits 1 with the reason otherwise.
const [command, ...args] = process.argv.slice(2)
const { API, SANDBOX } = process.env
const apiKey = (process.env.API_KEY ?? '').split(',')[0].replace(/^[A-Za-z0-9_.-]+:/, '')
const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }
const CLIENT = 'docker-client-1'
const SUNRISE = 'sbxLocation000000001'

async function json (res, what) {
  const text = await res.text()
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`)
  return text ? JSON.parse(text) : {}
}

async function eventually (what, check, ms = 60_000) {
  const end = Date.now() + ms
  let last
  while (Date.now() < end) {
    try { const value = await check(); if (value) return value } catch (err) { if (err.final) throw err; last = err }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`)
}

async function connect () {
  await json(await fetch(`${SANDBOX}/_sandbox/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ autoApprove: true }) }), 'the sandbox settings')
  const link = await json(await fetch(`${API}/api/ghl-oauth/connect-links`, { method: 'POST', headers: auth, body: JSON.stringify({ clientId: CLIENT }) }), 'connect-links')
  // the browser: the api's authorize sets its state cookie and sends it to HighLevel's consent
  const authorize = await fetch(link.url, { redirect: 'manual' })
  if (authorize.status !== 302) throw new Error(`authorize answered ${authorize.status}`)
  const cookie = String(authorize.headers.get('set-cookie')).split(';')[0]
  const consent = new URL(authorize.headers.get('location'))
  consent.searchParams.set('location', SUNRISE)
  const approved = await fetch(consent, { redirect: 'manual' })
  if (approved.status !== 302) throw new Error(`the sandbox consent answered ${approved.status}`)
  const callback = await fetch(approved.headers.get('location'), { headers: { cookie }, redirect: 'manual' })
  if (callback.status !== 200) throw new Error(`the callback answered ${callback.status}: ${(await callback.text()).slice(0, 300)}`)
  const status = await json(await fetch(`${API}/api/ghl-oauth/status/${CLIENT}`, { headers: auth }), 'status')
  if (!status.connected) throw new Error(`status says not connected: ${JSON.stringify(status)}`)
  console.log(`connected ${CLIENT} to ${status.integration.locationName} (${status.integration.locationId})`)
}

async function sms (count, tag) {
  const ids = []
  for (let i = 0; i < count; i++) {
    const body = { clientId: CLIENT, to: { phone: '+15550100001' }, message: `docker e2e ${tag} ${i}`, idempotencyKey: `docker-${tag}-${i}` }
    const taken = await json(await fetch(`${API}/api/sms`, { method: 'POST', headers: auth, body: JSON.stringify(body) }), 'POST /api/sms')
    ids.push(taken.id)
  }
  for (const id of ids) {
    await eventually(`SMS ${id} to be sent`, async () => {
      const v = await json(await fetch(`${API}/api/sms/${id}`, { headers: auth }), `GET /api/sms/${id}`)
      if (v.status === 'failed' || v.status === 'cancelled') throw Object.assign(new Error(`SMS ${id} ${v.status}: ${JSON.stringify(v.error)}`), { final: true })
      return v.status === 'sent'
    }, 180_000) // a loaded machine, and the jobs' retries with backoff
  }
  const sent = await json(await fetch(`${SANDBOX}/_sandbox/messages?locationId=${SUNRISE}`), 'the sandbox messages')
  const seen = sent.messages.filter((m) => String(m.body).startsWith(`docker e2e ${tag} `)).length
  if (seen !== count) throw new Error(`the sandbox holds ${seen} of the ${count} messages sent`)
  console.log(`${count} SMS sent, ${seen} seen at the sandbox HighLevel`)
}

try {
  if (command === 'connect') await connect()
  else if (command === 'sms') await sms(Number(args[0] ?? 1), args[1] ?? 'one')
  else throw new Error(`unknown command ${command}; use connect or sms <count> <tag>`)
} catch (err) {
  console.error(err.message)
  process.exit(1)
}
