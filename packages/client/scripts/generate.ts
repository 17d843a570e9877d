/** `pnpm --filter @ghl-connect/client generate`: rewrites openapi.json and the types from the api as it is now. */
import { writeFile } from 'node:fs/promises'
import { buildOpenApiDocument, documentText, DOCUMENT_PATH, typesText, TYPES_PATH } from './openapi-document.ts'

const doc = await buildOpenApiDocument()
await writeFile(DOCUMENT_PATH, documentText(doc))
await writeFile(TYPES_PATH, await typesText(doc))
process.stdout.write(`wrote ${DOCUMENT_PATH} and ${TYPES_PATH}\n`)
