import t from 'tap'
import { conflict, NEEDS_REAUTH_MESSAGE, NOT_CONNECTED_MESSAGE, sendingRefused, unavailable } from '@ghl-connect/errors'
import { GhlError, type GhlErrorKind } from '@ghl-connect/ghl'
import { RecipientError } from '../src/sms/recipients.ts'
import { afterCountedAttempt, decideAfterPost, decideBeforePost, PERMANENT_FAILURES } from '../src/sms/send-outcome.ts'

const ghlError = (kind: GhlErrorKind, details: { status?: number, retryAfterMs?: number, messages?: string[] } = {}) =>
  new GhlError(kind, `HighLevel said ${kind}`, { operation: 'test', ...details })

const SCOPE_FIX = 'GoHighLevel refused: the connection lacks the conversations/message.write scope. Add it to the app\'s scopes (GHL_SCOPES), then have the client reconnect GoHighLevel from settings.'
const FORBIDDEN_FIX = 'GoHighLevel refused: the connected sub-account has no access to this contact\'s location. Reconnect GoHighLevel choosing the sub-account the contact belongs to.'
const TOKEN_FIX = 'GoHighLevel rejected the access token even after a refresh; reconnect GoHighLevel from settings.'

/** HighLevel's refusals no retry fixes, and the failure each gives. */
const permanent: Array<[GhlErrorKind, GhlError, { code: string, message: string }]> = [
  ['scope_missing', ghlError('scope_missing'), { code: 'scope_missing', message: SCOPE_FIX }],
  ['forbidden', ghlError('forbidden'), { code: 'forbidden', message: FORBIDDEN_FIX }],
  ['invalid_request', ghlError('invalid_request', { messages: ['phone is invalid', 'message is too long'] }), {
    code: 'invalid_request',
    message: 'GoHighLevel refused the message: phone is invalid; message is too long. Fix the recipient or the text and send it again.',
  }],
  // The refresh-once wrapper already refreshed: a second 401 is the token, not a moment.
  ['token_expired', ghlError('token_expired'), { code: 'token_rejected', message: TOKEN_FIX }],
]
const retried: GhlErrorKind[] = ['transient', 'invalid_grant', 'location_inactive', 'invalid_client']

t.test('the permanent-failure table holds exactly the refusals no retry can fix', async (t) => {
  t.same(Object.keys(PERMANENT_FAILURES).sort(), permanent.map(([kind]) => kind).sort())
})

t.test('before the POST', async (t) => {
  t.test('a refusal no retry fixes fails with the fix, not counted as an attempt', async (t) => {
    for (const [kind, err, failure] of permanent) {
      t.same(decideBeforePost(err, 0.5), { kind: 'fail', failure, countAttempt: false }, kind)
    }
  })

  t.test('any other HighLevel failure is a counted try, retried with backoff', async (t) => {
    for (const kind of retried) {
      t.same(decideBeforePost(ghlError(kind), 0.5), {
        kind: 'retry', failure: { code: `ghl_${kind}`, message: `GoHighLevel did not answer the contact lookup: HighLevel said ${kind}` }, atLeastMs: 0,
      }, kind)
    }
    // A lookup HighLevel answered unreadably sent nothing: judged by its kind.
    t.match(decideBeforePost(ghlError('transient', { status: 200 }), 0.5), { kind: 'retry', failure: { code: 'ghl_transient' } })
  })

  t.test('a 429 defers by HighLevel\'s interval (10 s without one) plus 0-20%, and is not an attempt', async (t) => {
    t.same(decideBeforePost(ghlError('rate_limited', { status: 429, retryAfterMs: 4000 }), 0), { kind: 'defer', delayMs: 4000 })
    t.same(decideBeforePost(ghlError('rate_limited', { status: 429, retryAfterMs: 4000 }), 0.5), { kind: 'defer', delayMs: 4400 })
    t.same(decideBeforePost(ghlError('rate_limited', { status: 429 }), 0), { kind: 'defer', delayMs: 10_000 })
    t.same(decideBeforePost(ghlError('rate_limited', { status: 429 }), 0.999), { kind: 'defer', delayMs: 11_998 })
  })

  t.test('a client without a usable connection fails with what to do', async (t) => {
    t.same(decideBeforePost(sendingRefused('not_connected'), 0.5),
      { kind: 'fail', failure: { code: 'not_connected', message: NOT_CONNECTED_MESSAGE }, countAttempt: false })
    t.same(decideBeforePost(sendingRefused('needs_reauth', { locationId: 'loc-1' }), 0.5),
      { kind: 'fail', failure: { code: 'needs_reauth', message: NEEDS_REAUTH_MESSAGE }, countAttempt: false })
  })

  t.test('a token that may come back is a counted try, not sooner than the refusal\'s hint', async (t) => {
    const paused = conflict('location_inactive', 'The location is paused.', { retryAfterSeconds: 30 })
    t.same(decideBeforePost(paused, 0.5), { kind: 'retry', failure: { code: 'location_inactive', message: 'The location is paused.' }, atLeastMs: 30_000 })
    const cooling = unavailable('refresh_unavailable', 'Refresh failed just now.', 12)
    t.same(decideBeforePost(cooling, 0.5), { kind: 'retry', failure: { code: 'refresh_unavailable', message: 'Refresh failed just now.' }, atLeastMs: 12_000 })
    const busy = unavailable('refresh_busy', 'Being refreshed elsewhere.', 5)
    t.same(decideBeforePost(busy, 0.5), { kind: 'retry', failure: { code: 'refresh_busy', message: 'Being refreshed elsewhere.' }, atLeastMs: 5000 })
    t.same(decideBeforePost(unavailable('refresh_busy', 'No hint.'), 0.5), { kind: 'retry', failure: { code: 'refresh_busy', message: 'No hint.' }, atLeastMs: 0 })
  })

  t.test('a recipient that cannot be resolved fails with what the CRM must say', async (t) => {
    for (const code of ['contact_not_found', 'ambiguous_contact'] as const) {
      t.same(decideBeforePost(new RecipientError(code, `the ${code} sentence`), 0.5),
        { kind: 'fail', failure: { code, message: `the ${code} sentence` }, countAttempt: false })
    }
  })

  t.test('anything else is rethrown', async (t) => {
    t.same(decideBeforePost(new Error('connection terminated'), 0.5), { kind: 'rethrow' })
  })
})

t.test('after the POST', async (t) => {
  t.test('HighLevel took it but its answer was unreadable: recorded as sent, never sent again', async (t) => {
    t.same(decideAfterPost(ghlError('transient', { status: 200 }), 0.5), { kind: 'sent_without_ids' })
    t.same(decideAfterPost(ghlError('invalid_request', { status: 201 }), 0.5), { kind: 'sent_without_ids' })
  })

  t.test('a refusal no retry fixes fails with the fix, counted: HighLevel answered the POST', async (t) => {
    for (const [kind, err, failure] of permanent) {
      t.same(decideAfterPost(err, 0.5), { kind: 'fail', failure, countAttempt: true }, kind)
    }
  })

  t.test('any other HighLevel failure proves nothing was sent: a counted try, retried', async (t) => {
    for (const kind of retried) {
      t.same(decideAfterPost(ghlError(kind, { status: 503 }), 0.5), {
        kind: 'retry', failure: { code: 'ghl_unavailable', message: `GoHighLevel did not take the SMS: HighLevel said ${kind}` }, atLeastMs: 0,
      }, kind)
    }
    t.match(decideAfterPost(ghlError('transient'), 0.5), { kind: 'retry', failure: { code: 'ghl_unavailable' } }, 'no answer at all (timeout, refused connection)')
  })

  t.test('a 429: back in line uncounted, deferred', async (t) => {
    t.same(decideAfterPost(ghlError('rate_limited', { status: 429, retryAfterMs: 2000 }), 1 / 2),
      { kind: 'nothing_sent', then: { kind: 'defer', delayMs: 2200 } })
    t.same(decideAfterPost(ghlError('rate_limited', { status: 429 }), 0),
      { kind: 'nothing_sent', then: { kind: 'defer', delayMs: 10_000 } })
  })

  t.test('a 401 whose refresh failed: back in line uncounted, then judged as before the POST', async (t) => {
    t.same(decideAfterPost(sendingRefused('needs_reauth'), 0.5),
      { kind: 'nothing_sent', then: { kind: 'fail', failure: { code: 'needs_reauth', message: NEEDS_REAUTH_MESSAGE }, countAttempt: false } })
    t.same(decideAfterPost(sendingRefused('not_connected'), 0.5),
      { kind: 'nothing_sent', then: { kind: 'fail', failure: { code: 'not_connected', message: NOT_CONNECTED_MESSAGE }, countAttempt: false } })
    for (const err of [conflict('location_inactive', 'Paused.', { retryAfterSeconds: 30 }), unavailable('refresh_unavailable', 'Later.', 12), unavailable('refresh_busy', 'Busy.', 5)]) {
      t.same(decideAfterPost(err, 0.5),
        { kind: 'nothing_sent', then: { kind: 'retry', failure: { code: err.code, message: err.message }, atLeastMs: err.details!.retryAfterSeconds! * 1000 } }, err.code)
    }
  })

  t.test('anything that is not HighLevel\'s answer is rethrown: the row stays sending for the reconciler', async (t) => {
    t.same(decideAfterPost(new Error('connection terminated'), 0.5), { kind: 'rethrow' })
    t.same(decideAfterPost(new TypeError('a bug'), 0.5), { kind: 'rethrow' })
    t.same(decideAfterPost(new RecipientError('contact_not_found', 'not after the POST'), 0.5), { kind: 'rethrow' })
  })
})

t.test('after a counted try: retried with backoff until the attempts run out, then failed saying so', async (t) => {
  const policy = { maxAttempts: 3, retryBaseMs: 1000 }
  const retry = { failure: { code: 'ghl_unavailable', message: 'GoHighLevel did not take the SMS: 503' }, atLeastMs: 0 }
  t.same(afterCountedAttempt(1, retry, policy, 0), { kind: 'retry', delayMs: 500 })
  t.same(afterCountedAttempt(2, retry, policy, 0.999), { kind: 'retry', delayMs: 1999 })
  t.same(afterCountedAttempt(2, { ...retry, atLeastMs: 30_000 }, policy, 0.5), { kind: 'retry', delayMs: 30_000 }, 'not sooner than the hint')
  t.same(afterCountedAttempt(3, retry, policy, 0.5),
    { kind: 'fail', failure: { code: 'ghl_unavailable', message: 'GoHighLevel did not take the SMS: 503 (gave up after 3 attempts)' } })
  t.same(afterCountedAttempt(4, retry, policy, 0.5),
    { kind: 'fail', failure: { code: 'ghl_unavailable', message: 'GoHighLevel did not take the SMS: 503 (gave up after 4 attempts)' } })
})
