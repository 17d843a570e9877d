import { readFile } from 'node:fs/promises'
import t from 'tap'
import { buildOpenApiDocument, documentText, DOCUMENT_PATH } from '../scripts/openapi-document.ts'

t.test('the OpenAPI document committed beside the typed client is the api\'s current one (when this fails: pnpm openapi, and commit)', async (t) => {
  const doc = await buildOpenApiDocument()
  const committed = await readFile(DOCUMENT_PATH, 'utf8')
  t.same(JSON.parse(committed), doc, 'packages/client/openapi.json is what the api serves at /docs/json')
  t.equal(committed, documentText(doc), 'and formatted as `pnpm --filter api openapi` writes it')
})
