import t from 'tap'
import { buildTestApi } from './helper.ts'

t.test('Swagger UI answers at /docs and reads the OpenAPI document at /docs/json', async (t) => {
  const { app } = await buildTestApi(t)
  let res = await app.inject({ url: '/docs' })
  if (res.statusCode >= 300 && res.statusCode < 400) res = await app.inject({ url: new URL(res.headers.location!, 'http://x').pathname })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /swagger-ui/)
  const init = await app.inject({ url: '/docs/static/swagger-initializer.js' })
  t.equal(init.statusCode, 200)
  t.match(init.body, /\/docs\/json|\.\/json/, 'the UI loads our document')

  const doc = await app.inject({ url: '/docs/json' })
  t.equal(doc.statusCode, 200)
  t.equal(doc.json().openapi.split('.')[0], '3')
  t.same(doc.json(), app.swagger(), 'the same document as before')
  t.notOk(doc.json().paths['/docs'], 'the UI is not itself a documented route')
})

t.test('the UI has its own Content-Security-Policy; the connect pages keep theirs', async (t) => {
  const { app } = await buildTestApi(t)
  for (const url of ['/docs', '/docs/static/index.html', '/docs/static/swagger-initializer.js']) {
    const csp = String((await app.inject({ url })).headers['content-security-policy'])
    t.match(csp, /script-src 'self'/, `${url}: scripts from the api only`)
    t.notMatch(csp, /unsafe-inline|unsafe-eval|upgrade-insecure-requests/, `${url}: nothing inline, and plain http keeps working`)
  }
  const page = await app.inject({ url: '/connect' })
  t.notMatch(String(page.headers['content-security-policy'] ?? ''), /validator\.swagger\.io/, 'a connect page is not given the UI policy')
  t.notOk((await app.inject({ url: '/healthz' })).headers['content-security-policy'], 'JSON routes get no UI policy')
})

t.test('every route lists the error statuses it can answer', async (t) => {
  const { app } = await buildTestApi(t)
  const doc = (await app.inject({ url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, { security?: unknown[], parameters?: unknown[], requestBody?: unknown, responses: Record<string, unknown> }>>
  }
  let machine = 0
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const statuses = Object.keys(op.responses ?? {})
      const route = `${method.toUpperCase()} ${path}`
      if (op.security) {
        machine++
        for (const s of ['401', '429']) t.ok(statuses.includes(s), `${route} lists ${s} (API key, per-key rate limit)`)
      }
      if (op.requestBody) for (const s of ['400', '413']) t.ok(statuses.includes(s), `${route} lists ${s} (body)`)
      if (op.security && op.parameters?.length) t.ok(statuses.includes('400'), `${route} lists 400 (parameters)`)
    }
  }
  t.ok(machine >= 8, 'the machine routes are in the document')
  t.ok(doc.paths['/api/ghl-oauth/webhooks']?.post?.responses['429'], 'the webhook lists its 429')
})

t.test('building the api prints no deprecation warning', async (t) => {
  const warnings: Error[] = []
  const onWarning = (w: Error) => { warnings.push(w) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const { app } = await buildTestApi(t)
  await app.ready()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings.map((w) => `${w.name}: ${w.message}`), [])
})
