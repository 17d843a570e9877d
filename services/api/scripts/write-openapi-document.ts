/** `pnpm --filter api openapi` (or `pnpm openapi`, which also regenerates the client's types): rewrites packages/client/openapi.json from the api as it is now. */
import { writeFile } from 'node:fs/promises'
import { buildOpenApiDocument, documentText, DOCUMENT_PATH } from './openapi-document.ts'

await writeFile(DOCUMENT_PATH, documentText(await buildOpenApiDocument()))
process.stdout.write(`wrote ${DOCUMENT_PATH}\n`)
