import t from 'tap'
import { AppError } from '@ghl-connect/errors'
import { DEFAULT_SCOPES, parseScopes, SCOPES } from '../src/index.ts'

t.test('no scopes given is every scope but proxy; the scopes asked for come back once each, in one order', async (t) => {
  t.same(parseScopes(undefined), DEFAULT_SCOPES)
  t.notOk(DEFAULT_SCOPES.includes('proxy'))
  t.equal(DEFAULT_SCOPES.length, SCOPES.length - 1)
  t.same(parseScopes(['contacts:read', 'sms:send', 'contacts:read']), ['sms:send', 'contacts:read'])
  t.same(parseScopes(['proxy']), ['proxy'])
})

t.test('an unknown scope is a 400 naming it; an empty list is a 400 saying what to do', async (t) => {
  const refused = (asked: string[]) => { try { parseScopes(asked); return null } catch (err) { return err as AppError } }
  t.match(refused(['sms:send', 'sms:delete']), { statusCode: 400, code: 'unknown_scope', message: /^"sms:delete" is not a scope\. Scopes: sms:send, / })
  t.match(refused(['\u0000evil'.padEnd(200, 'x')])?.message, /^"\?evilx+" is not a scope/, 'bounded and printable in the message')
  t.equal(refused(['\u0000evil'.padEnd(200, 'x')])!.message.split('"')[1]!.length, 64)
  t.match(refused([]), { statusCode: 400, code: 'scopes_required' })
})
