import t from 'tap'
import { AppError, badRequest, errorAnswer, tooManyRequests, unavailable } from '../src/index.ts'

t.test('an error answers with its status, {error, message} and no headers', async (t) => {
  t.same(errorAnswer(new AppError(404, 'not_connected', 'Connect first.')), {
    status: 404, body: { error: 'not_connected', message: 'Connect first.' }, headers: {},
  })
})

t.test('per-field problems travel in the body, a retry delay as retry-after', async (t) => {
  t.same(errorAnswer(badRequest('invalid_phone', 'Check the phone.', { fields: { phone: 'not E.164' } })).body,
    { error: 'invalid_phone', message: 'Check the phone.', fields: { phone: 'not E.164' } })
  t.same(errorAnswer(tooManyRequests('rate_limited', 'Slow down.', 7)).headers, { 'retry-after': '7' })
  t.same(errorAnswer(unavailable('service_unavailable', 'Retry.', 5)), {
    status: 503, body: { error: 'service_unavailable', message: 'Retry.' }, headers: { 'retry-after': '5' },
  })
})

t.test('a page title is for the failure page only, never in the JSON body', async (t) => {
  t.same(errorAnswer(new AppError(403, 'link_expired', 'Ask for a new link.', { pageTitle: 'This connect link cannot be used' })).body,
    { error: 'link_expired', message: 'Ask for a new link.' })
})
