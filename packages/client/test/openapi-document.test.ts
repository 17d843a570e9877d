import t from 'tap'
import { buildOpenApiDocument, documentText, readCommitted, typesText } from '../scripts/openapi-document.ts'

t.test('the committed OpenAPI document and types are the api\'s current ones (when this fails: pnpm --filter @ghl-connect/client generate, and commit)', async (t) => {
  const doc = await buildOpenApiDocument()
  const committed = await readCommitted()
  t.same(JSON.parse(committed.document), doc, 'openapi.json is what the api serves at /docs/json')
  t.equal(committed.document, documentText(doc), 'and formatted as generate writes it')
  t.equal(committed.types, await typesText(JSON.parse(committed.document)), 'src/generated/api.ts is generated from openapi.json')
})
