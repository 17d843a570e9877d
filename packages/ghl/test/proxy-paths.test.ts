import t from 'tap'
import { FAMILY_VERSIONS, LOCATION_NEED_ERRATA, LOCATION_NEEDS, locationNeedOf, PROXY_FAMILIES, proxyFamilyOf } from '../src/proxy-paths.ts'
import { FAMILY_FILES, locationNeedsOf, versionsOf } from './proxy-paths-from-specs.ts'

t.test('the proxy\'s Version per family is the one every operation of that family\'s spec accepts', async (t) => {
  t.same([...PROXY_FAMILIES].sort(), [...FAMILY_FILES].sort())
  for (const family of FAMILY_FILES) {
    const ops = versionsOf(family)
    t.ok(ops.length > 5, `${family}: the spec lists its operations`)
    const refusing = ops.filter((op) => !op.versions.includes(FAMILY_VERSIONS[family])).map((op) => `${op.method} ${op.path}`)
    t.same(refusing, [], `${family}: every operation accepts Version ${FAMILY_VERSIONS[family]}`)
    for (const op of ops) t.ok(op.path.startsWith(`/${family}/`), `${op.path} is in the ${family} family`)
  }
})

t.test('the proxy fills the location id exactly where the specs require it (plus the named errata)', async (t) => {
  const fromSpecs = FAMILY_FILES.flatMap((family) => locationNeedsOf(family))
  const errata = LOCATION_NEED_ERRATA.map(({ why: _, ...need }) => need)
  t.same(LOCATION_NEEDS, [...fromSpecs, ...errata])
  for (const e of errata) t.notOk(fromSpecs.some((n) => n.method === e.method && n.path === e.path), `${e.method} ${e.path} is not already in the specs`)
})

t.test('a request path finds its operation\'s location need; a literal segment beats a parameter', async (t) => {
  t.same(locationNeedOf('GET', '/opportunities/search'), { method: 'GET', path: '/opportunities/search', query: 'location_id' })
  t.same(locationNeedOf('POST', '/contacts/upsert'), { method: 'POST', path: '/contacts/upsert', body: true })
  t.same(locationNeedOf('GET', '/calendars/events'), { method: 'GET', path: '/calendars/events', query: 'locationId' })
  t.same(locationNeedOf('GET', '/contacts'), { method: 'GET', path: '/contacts/', query: 'locationId' })
  t.equal(locationNeedOf('GET', '/contacts/abc123'), undefined, 'a contact by id needs no location')
  t.equal(locationNeedOf('DELETE', '/opportunities/search'), undefined)
})

t.test('only the allowed families pass, and no path can climb out of its family', async (t) => {
  t.equal(proxyFamilyOf('/contacts/search'), 'contacts')
  t.equal(proxyFamilyOf('/contacts/'), 'contacts')
  t.equal(proxyFamilyOf('/calendars/events'), 'calendars')
  for (const bad of ['/oauth/token', '/users/search', '/', '', 'contacts', '/contacts/../oauth/token', '/contacts/..',
    '/contacts/%2e%2e/oauth/token', '/contacts%2F..%2Foauth', '/contacts/a%2fb', '/contacts//x', '/contacts/./x', '/contacts\\..\\oauth', '/Contacts/x']) {
    t.equal(proxyFamilyOf(bad), null, `${JSON.stringify(bad)} is refused`)
  }
})
