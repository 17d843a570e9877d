/** What an operator reads in the worker's log: an SMS failure line names its stable code and client. */
import t from 'tap'
import { logCapture } from '@ghl-connect/testing'
import { createWorld, HARBOR, settled } from './helper.ts'

t.test('an SMS failing needs_reauth is logged with its code readable, and no token', async (t) => {
  const logs = logCapture()
  const world = await createWorld(t)
  const integration = await world.connect('revoked-client', { locationId: HARBOR, expired: true })
  world.sandbox.control.revokeTokens(HARBOR, { refreshTokens: true })
  await world.startInProcess({}, { logs: logs.stream })
  const message = await world.submit('revoked-client', { contactId: 'sbxContact0000000003' })
  t.match(await settled(world, message.id), { status: 'failed', errorCode: 'needs_reauth' })
  const failed = logs.records().find((l) => l.msg === 'sms failed')
  t.match(failed, { level: 40, code: 'needs_reauth' }, 'the stable code is readable on the failure line')
  t.match(logs.text(), 'revoked-client', 'the client id is readable')
  for (const secret of [integration.accessToken!, integration.refreshToken!]) t.notMatch(logs.text(), secret, 'no token')
})
