import t from 'tap'
import { readCommitted, typesText } from '../scripts/openapi-types.ts'

t.test('the committed types are generated from the committed openapi.json (when this fails: pnpm --filter @ghl-connect/client generate, and commit)', async (t) => {
  const committed = await readCommitted()
  t.equal(committed.types, await typesText(committed.document), 'src/generated/api.ts is generated from openapi.json')
})
