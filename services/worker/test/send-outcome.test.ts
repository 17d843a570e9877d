import t from 'tap'
import { conflict, NEEDS_REAUTH_MESSAGE, NOT_CONNECTED_MESSAGE, sendingRefused, unavailable } from '@ghl-connect/errors'
import { GhlError, type GhlErrorKind } from '@ghl-connect/ghl'
import { RecipientError } from '../src/sms/recipients.ts'
import {
  afterCountedAttempt, decideAfterPost, decideBeforePost, decideVerification, PERMANENT_FAILURES, READ_SCOPE_MISSING, VerificationPending, verifyWait,
} from '../src/sms/send-outcome.ts'

const ghlError = (kind: GhlErrorKind, details: { status?: number, retryAfterMs?: number, messages?: string[], networkCode?: string } = {}) =>
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
    t.match(decideAfterPost(ghlError('transient', { networkCode: 'ECONNREFUSED' }), 0.5), { kind: 'retry', failure: { code: 'ghl_unavailable' } }, 'a refused connection: nothing reached HighLevel')
    t.match(decideAfterPost(ghlError('transient', { networkCode: 'UND_ERR_CONNECT_TIMEOUT' }), 0.5), { kind: 'retry' }, 'no connection made')
  })

  t.test('an answer that leaves it open (gateway 502/504, reset after writing, timeout): the outcome is unknown, HighLevel is asked', async (t) => {
    for (const [what, err] of [
      ['502 from a gateway', ghlError('transient', { status: 502 })],
      ['504 from a gateway', ghlError('transient', { status: 504 })],
      ['connection reset', ghlError('transient', { networkCode: 'ECONNRESET' })],
      ['socket closed by the other side', ghlError('transient', { networkCode: 'UND_ERR_SOCKET' })],
      ['our timeout', ghlError('transient', { networkCode: 'timeout' })],
    ] as const) {
      t.same(decideAfterPost(err, 0.5), {
        kind: 'outcome_unknown', failure: { code: 'ghl_unavailable', message: `GoHighLevel did not answer the SMS: ${err.message}` },
      }, what)
    }
    t.match(decideAfterPost(ghlError('transient', { status: 500 }), 0.5), { kind: 'retry' }, 'HighLevel\'s own 500 says it did not take it')
    t.match(decideAfterPost(ghlError('transient', { status: 503 }), 0.5), { kind: 'retry' })
  })

  t.test('a 401 for an expired token, not refreshed yet: nothing sent, back in line while the token is refreshed', async (t) => {
    t.same(decideAfterPost(ghlError('token_expired', { status: 401 }), 0.5, { canRefresh: true }), { kind: 'refresh_and_resend' })
    t.same(decideAfterPost(ghlError('token_expired', { status: 401 }), 0.5, { canRefresh: false }),
      { kind: 'fail', failure: { code: 'token_rejected', message: TOKEN_FIX }, countAttempt: true }, 'after the refresh (or a legacy PIT): refused for good')
    t.match(decideAfterPost(ghlError('scope_missing', { status: 401 }), 0.5, { canRefresh: true }), { kind: 'fail', failure: { code: 'scope_missing' } }, 'a missing scope is never refreshed')
  })

  t.test('a 429: back in line uncounted, deferred', async (t) => {
    t.same(decideAfterPost(ghlError('rate_limited', { status: 429, retryAfterMs: 2000 }), 1 / 2),
      { kind: 'nothing_sent', then: { kind: 'defer', delayMs: 2200 } })
    t.same(decideAfterPost(ghlError('rate_limited', { status: 429 }), 0),
      { kind: 'nothing_sent', then: { kind: 'defer', delayMs: 10_000 } })
  })

  t.test('anything that is not HighLevel\'s answer is rethrown: the row stays sending for the reconciler', async (t) => {
    t.same(decideAfterPost(new Error('connection terminated'), 0.5), { kind: 'rethrow' })
    t.same(decideAfterPost(new TypeError('a bug'), 0.5), { kind: 'rethrow' })
    t.same(decideAfterPost(new RecipientError('contact_not_found', 'not after the POST'), 0.5), { kind: 'rethrow' })
    t.same(decideAfterPost(sendingRefused('needs_reauth'), 0.5), { kind: 'rethrow' }, 'a refresh happens with the row queued, never after the POST')
  })
})

t.test('after a counted try: retried with backoff until the time budget runs out, then failed saying so', async (t) => {
  const policy = { retryForMs: 3_600_000, retryBaseMs: 1000 }
  const now = Date.parse('2026-07-01T12:00:00Z')
  const since = (ms: number) => new Date(now - ms)
  const retry = { failure: { code: 'ghl_unavailable', message: 'GoHighLevel did not take the SMS: 503' }, atLeastMs: 0 }
  t.same(afterCountedAttempt({ attempts: 1, retryingSince: since(0) }, retry, policy, now, 0), { kind: 'retry', delayMs: 500 })
  t.same(afterCountedAttempt({ attempts: 2, retryingSince: since(1000) }, retry, policy, now, 0.999), { kind: 'retry', delayMs: 1999 })
  t.same(afterCountedAttempt({ attempts: 2, retryingSince: since(1000) }, { ...retry, atLeastMs: 30_000 }, policy, now, 0.5), { kind: 'retry', delayMs: 30_000 }, 'not sooner than the hint')
  t.same(afterCountedAttempt({ attempts: 25, retryingSince: since(3_000_000) }, retry, policy, now, 0.5), { kind: 'retry', delayMs: 225_000 }, 'many attempts, budget left: retried')
  t.same(afterCountedAttempt({ attempts: 3, retryingSince: since(3_600_000) }, retry, policy, now, 0.5),
    { kind: 'fail', failure: { code: 'ghl_unavailable', message: 'GoHighLevel did not take the SMS: 503 (gave up after retrying for 60 min, 3 attempts)' } })
})

t.test('an attempt whose outcome is unknown', async (t) => {
  const policy = { inFlightGraceMs: 15_000, settleMs: 30_000, verifyForMs: 86_400_000 }
  const start = Date.parse('2026-07-01T12:00:00Z')
  const ended = { attemptStartedAt: new Date(start), outcomeUnknownAt: new Date(start + 4000) }
  const died = { attemptStartedAt: new Date(start), outcomeUnknownAt: null }
  const ids = { messageId: 'ghl-1', conversationId: 'conv-1' }

  t.test('is asked about once it is over: at once when its POST ended, after the in-flight grace when its process died', async (t) => {
    t.equal(verifyWait(ended, policy, start + 4000), 0)
    t.equal(verifyWait(died, policy, start + 5000), 10_000, 'a live POST might still be waiting for its answer')
    t.equal(verifyWait(died, policy, start + 15_000), 0)
  })

  t.test('found in HighLevel: sent, with HighLevel\'s ids', async (t) => {
    t.same(decideVerification({ kind: 'found', ids }, ended, policy, start + 4000, 0.5), { kind: 'sent', ids })
  })

  t.test('not found: sent again only once HighLevel had time to list it', async (t) => {
    t.same(decideVerification({ kind: 'not_found' }, ended, policy, start + 4000, 0.5), { kind: 'ask_later', delayMs: 30_000 })
    t.same(decideVerification({ kind: 'not_found' }, ended, policy, start + 34_000, 0.5), { kind: 'send_again' })
    t.same(decideVerification({ kind: 'not_found' }, died, policy, start + 20_000, 0.5), { kind: 'ask_later', delayMs: 25_000 })
    t.same(decideVerification({ kind: 'not_found' }, died, policy, start + 45_000, 0.5), { kind: 'send_again' })
  })

  t.test('HighLevel unreachable: asked again later with backoff, delivery_unknown only once the configured time has passed', async (t) => {
    const down = { kind: 'unanswered' as const, err: ghlError('transient', { status: 503 }) }
    t.same(decideVerification(down, ended, policy, start + 4000, 0), { kind: 'ask_later', delayMs: 500 }, 'soon at first')
    t.same(decideVerification(down, ended, policy, start + 3_600_000, 0.5), { kind: 'ask_later', delayMs: 225_000 }, 'an hour in: every few minutes')
    t.same(decideVerification(down, ended, policy, start + 86_399_000, 0.5), { kind: 'ask_later', delayMs: 1000 }, 'the last question comes at the deadline')
    t.same(decideVerification(down, ended, policy, start + 86_400_000, 0.5), {
      kind: 'fail',
      failure: { code: 'delivery_unknown', message: 'Whether GoHighLevel sent this SMS is unknown: the send got no answer, and GoHighLevel could not be asked for 24 h. It was not sent again to avoid a duplicate; check the conversation in GoHighLevel and send it again if needed.' },
    })
    t.same(decideVerification({ kind: 'unanswered', err: ghlError('rate_limited', { status: 429, retryAfterMs: 4000 }) }, ended, policy, start + 4000, 0), { kind: 'ask_later', delayMs: 4000 })
    t.match(decideVerification({ kind: 'unanswered', err: sendingRefused('needs_reauth') }, ended, policy, start + 4000, 0), { kind: 'ask_later' }, 'no token now: the client may reconnect')
    t.same(decideVerification({ kind: 'unanswered', err: new VerificationPending('a twin is sending') }, ended, policy, start + 3_600_000, 0.5), { kind: 'ask_later', delayMs: 750 }, 'a twin being settled: soon again')
  })

  t.test('a connection without conversations/message.readonly cannot ask: delivery_unknown naming the scope to add', async (t) => {
    t.same(decideVerification({ kind: 'unanswered', err: ghlError('scope_missing', { status: 401 }) }, ended, policy, start + 4000, 0.5), { kind: 'fail', failure: READ_SCOPE_MISSING })
    t.match(READ_SCOPE_MISSING.message, /lacks the conversations\/message\.readonly scope.*GHL_SCOPES.*reconnect/)
  })

  t.test('anything that is not an answer (PostgreSQL down, a bug) is rethrown', async (t) => {
    t.same(decideVerification({ kind: 'unanswered', err: new Error('connection terminated') }, ended, policy, start + 4000, 0.5), { kind: 'rethrow' })
  })
})
