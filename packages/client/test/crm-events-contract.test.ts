import t from 'tap'
import { copyText, readCommittedCopy } from '../scripts/crm-events-contract.ts'

t.test('the client\'s copy of the CRM event contract is the current one (when this fails: pnpm --filter @ghl-connect/client generate, and commit)', async (t) => {
  t.equal(await readCommittedCopy(), await copyText(), 'src/generated/crm-events.ts is packages/crm-events/src/index.ts')
})
